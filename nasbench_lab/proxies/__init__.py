"""Training-free NAS: zero-cost proxies of a cell at initialisation, computed, stored and evaluated."""
