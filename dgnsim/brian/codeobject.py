"""A faster threshold for cpp_standalone: Brian2's code object with one template of dgnsim's.

Brian2's C++ threshold loop appends each spiking neuron to the spike space as it goes,
so the compiler cannot vectorise it, and it costs as much as the whole state update of
a LIF network (``benchmarks/results/foundation_profile.md``). :class:`BlockThresholdCodeObject`
is Brian2's :class:`~brian2.devices.cpp_standalone.CPPStandaloneCodeObject` whose threshold
template (``templates/threshold.cpp``) evaluates the condition in vectorised blocks of 64
neurons and records the events of a block only when it has one: the same events, in the
same order, with the condition evaluated once per neuron as before. Every other template
is Brian2's (the derived templater falls back to it), the same mechanism as Brian2's GSL
code objects. :func:`make_group` gives its groups' thresholds this code object on the
cpp_standalone device; other devices, and plain Brian2 groups, keep Brian2's own.
"""

from __future__ import annotations

from brian2 import NeuronGroup, get_device
from brian2.core.functions import DEFAULT_FUNCTIONS
from brian2.devices.cpp_standalone import CPPStandaloneCodeObject
from brian2.devices.cpp_standalone.codeobject import generate_rand_code
from brian2.devices.device import all_devices

__all__ = ["BlockThresholdCodeObject", "use_block_threshold"]


class BlockThresholdCodeObject(CPPStandaloneCodeObject):
    """Brian2's C++ standalone code object with dgnsim's vectorised threshold template.

    Made by Brian2 when it generates a threshold whose ``codeobj_class`` is this class
    (:func:`use_block_threshold`), never by hand.

    Parameters
    ----------
    *args, **kwds
        Brian2's :class:`~brian2.devices.cpp_standalone.CPPStandaloneCodeObject` arguments.
    """

    templater = CPPStandaloneCodeObject.templater.derive("dgnsim.brian")


# rand() and randn() are the functions Brian2 implements for its code object class itself
# (not for the C++ generator), so the subclass registers the same implementations.
for _name in ("rand", "randn"):
    DEFAULT_FUNCTIONS[_name].implementations.add_dynamic_implementation(
        BlockThresholdCodeObject,
        code=lambda owner, _name=_name: generate_rand_code(_name, owner),
        namespace=lambda owner: {},
        name=f"_{_name}",
    )


def use_block_threshold(group: NeuronGroup) -> bool:
    """Give ``group``'s thresholds (the spike and any custom event) the vectorised template.

    Only on Brian2's cpp_standalone device, where the template applies; elsewhere the
    group is left as it is.

    Parameters
    ----------
    group : brian2.NeuronGroup
        The group, before the network is built.

    Returns
    -------
    bool
        Whether the group's thresholds now use :class:`BlockThresholdCodeObject`.
    """
    if get_device() is not all_devices["cpp_standalone"]:
        return False
    for thresholder in group.thresholder.values():
        thresholder.codeobj_class = BlockThresholdCodeObject
    return True
