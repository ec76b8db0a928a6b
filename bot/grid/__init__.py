"""The grid: the in-memory directory of units, the district loader, routing, the services catalogue, the synthetic district."""
