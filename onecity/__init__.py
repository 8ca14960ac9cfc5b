"""OneCity: an open-source digital-city service platform."""
