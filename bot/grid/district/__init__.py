"""Loads a district (units, staff, residents, groups) from YAML and CSV into the database; validates first.

The file format is documented at the top of config/district/demo.yaml. Loading adds and updates rows (units
and staff by code, identities by (channel, user_id), groups by (channel, chat_id)); it never deletes, because
cases keep pointing at units and people that a later file may leave out.
"""

from bot.grid.district.reader import read_district
from bot.grid.district.spec import DistrictError, DistrictSpec, DistrictSummary
from bot.grid.district.writer import load_district

__all__ = ["DistrictError", "DistrictSpec", "DistrictSummary", "load_district", "read_district"]
