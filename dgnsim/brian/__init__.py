"""Brian2 networks of the models: groups and synapses, the backend switch, the simulation job."""
