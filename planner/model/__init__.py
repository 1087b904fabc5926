"""The optimization model: typed row keys, the recipe that builds rows, the solve and its backends."""
