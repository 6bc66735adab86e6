{# dgnsim's threshold for cpp_standalone: Brian2's own template (brian2/devices/cpp_standalone/
   templates/threshold.cpp) with the same result, computed in blocks of 64 neurons. The first
   loop of a block evaluates the condition once per neuron into a small buffer and has no
   dependence between iterations, so the compiler vectorises it; only a block with an event
   is scanned again, from the buffer, to record the events in ascending index order. The
   condition's code runs exactly once per neuron, in index order, as in Brian2's loop, so a
   condition that draws random numbers draws the same ones. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% set _eventspace = get_array_name(eventspace_variable) %}

    long _count = 0;
    char _block_cond[64];
    for(size_t _start=0; _start<N; _start+=64)
    {
        const size_t _len = N - _start < 64 ? N - _start : 64;
        char _any = 0;
        for(size_t _j=0; _j<_len; _j++)
        {
            const size_t _idx = _start + _j;
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
            _block_cond[_j] = _cond;
            _any |= _cond;
        }
        if(!_any)
            continue;
        for(size_t _j=0; _j<_len; _j++)
        {
            if(_block_cond[_j]) {
                const size_t _idx = _start + _j;
                {{_eventspace}}[_count++] = _idx;
                {% if _uses_refractory %}
                {{not_refractory}}[_idx] = false;
                {{lastspike}}[_idx] = {{t}};
                {% endif %}
            }
        }
    }
    {{_eventspace}}[N] = _count;
{% endblock %}

{% block after_code %}
{% set _eventspace = get_array_name(eventspace_variable) %}
{{_eventspace}}[N] = 0;  // Note that this is not an off-by-1-error: the array has N+1 elements
{% endblock %}
