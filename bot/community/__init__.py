"""The community's own practice: micro-wishes, 双报到 claimers and claims, projects, volunteer hours.

What the public pages read comes from bot.community.publishing: published_wishes (a unit's subtree, public
wording and progress only) and community_projects (a community's projects of a year with their progress).
"""
