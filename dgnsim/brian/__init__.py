"""Brian2 networks of the models: groups and synapses, the backend switch, the simulation job,
and the vectorised C++ threshold that the groups get on cpp_standalone."""
