"""Reports: the weekly progress text and chart."""
