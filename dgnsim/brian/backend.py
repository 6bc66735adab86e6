"""Backends behind one switch: Brian2 runtime (numpy, cython), C++ and CUDA standalone.

This is the only module that calls ``set_device``, builds, and resets the device.
A standalone project is generated into a scratch directory, keyed by a hash of every
generated file (code and data), compiled there and renamed atomically into
``<build root>/<device>-<hash>``. A later build of the same network reuses that
binary; new parameter values or initial states go in as run arguments
(``device.run(run_args=...)``), never through a recompile. Two processes building at
once work in their own scratch directories and never write into one directory.
"""

from __future__ import annotations

import gc
import glob
import hashlib
import inspect
import os
import shutil
import threading
import time
import uuid
import weakref
from pathlib import Path

import brian2
from brian2 import (
    Network,
    Quantity,
    defaultclock,
    get_device,
    prefs,
    second,
    set_device,
    start_scope,
)
from brian2 import (
    seed as brian_seed,
)
from brian2.codegen import translation
from brian2.core.base import BrianObject
from brian2.core.namespace import get_local_namespace
from brian2.stateupdaters.base import StateUpdateMethod
from brian2.stateupdaters.exact import LinearStateUpdater

from dgnsim.core.units import require_quantity

#: ``runtime`` is Brian2's own name for its runtime target (code generation target "auto").
DEVICES = ("runtime", "numpy", "cython", "cpp_standalone", "cuda_standalone")
STANDALONE = ("cpp_standalone", "cuda_standalone")

#: Brian2's device, preferences and object scope belong to the process, so one network at a time:
#: every :class:`Simulation` holds this lock for its ``with`` block, and code that makes Brian2
#: objects before entering one (a Dask worker may run several threads) holds it around both.
BRIAN2_LOCK = threading.RLock()
#: Brian2's memoised functions whose keys hold the variables of a network (functions included).
_NETWORK_CACHES = (translation.make_statements, StateUpdateMethod.apply_stateupdater, LinearStateUpdater.__call__)


class BackendError(RuntimeError):
    """A backend that cannot do what was asked (e.g. run CUDA without a GPU)."""


def build_root() -> Path:
    """Where standalone builds are kept: ``$DGNSIM_BUILD_DIR`` or ``~/.cache/dgnsim/builds``."""
    return Path(os.environ.get("DGNSIM_BUILD_DIR", Path.home() / ".cache" / "dgnsim" / "builds"))


def configure_cuda(compute_capability: float = 8.0, gpu_id: int = 0) -> None:
    """Preferences for brian2cuda under CUDA 13 (C++17, cuRAND from the nvidia-curand wheel).

    GPU detection is switched off, so code generation and compilation work on a
    machine without a GPU; running the binary needs one.

    Parameters
    ----------
    compute_capability : float
        The GPU's compute capability that nvcc compiles for (e.g. 8.0 for an A100, 9.0 for an H100).
    gpu_id : int
        The index of the GPU that the binary runs on.

    Raises
    ------
    BackendError
        If cuRAND (the ``nvidia-curand`` wheel) is not installed.
    """
    import brian2cuda  # noqa: F401  (registers the device and its preferences)
    import nvidia

    cu = next((os.path.join(p, "cu13") for p in nvidia.__path__ if os.path.isdir(os.path.join(p, "cu13"))), None)
    if cu is None or not glob.glob(os.path.join(cu, "lib", "libcurand.so*")):
        raise BackendError("cuRAND not found: install the 'nvidia-curand' wheel (pip install nvidia-curand)")
    shim = build_root() / "curand-shim"  # only curand headers, and an unversioned libcurand.so
    (shim / "include").mkdir(parents=True, exist_ok=True)
    (shim / "lib").mkdir(parents=True, exist_ok=True)
    for header in glob.glob(os.path.join(cu, "include", "curand*.h")):
        link = shim / "include" / os.path.basename(header)
        if not link.exists():
            _symlink(header, link)
    lib = sorted(glob.glob(os.path.join(cu, "lib", "libcurand.so*")))[0]
    if not (shim / "lib" / "libcurand.so").exists():
        _symlink(lib, shim / "lib" / "libcurand.so")
    cb = prefs.devices.cuda_standalone.cuda_backend
    cb.detect_gpus = False
    cb.gpu_id = gpu_id
    cb.compute_capability = compute_capability
    cb.detect_cuda = True
    cb.cuda_path = os.environ.get("CUDA_PATH", "/usr/local/cuda")
    cb.extra_compile_args_nvcc = ["-w", "-use_fast_math", "-std=c++17", f"-I{shim / 'include'}"]
    prefs.codegen.cpp.extra_compile_args_gcc = ["-w", "-O3", "-ffast-math", "-fno-finite-math-only", "-std=c++17"]
    prefs.codegen.cpp.library_dirs = [str(shim / "lib")]
    prefs.codegen.cpp.runtime_library_dirs = [os.path.join(cu, "lib")]


def configure_cpp() -> None:
    """C++ compiler flags: Brian2's defaults, plus room for gcc's aliasing checks.

    The neuron loops touch one array per state variable and per-neuron parameter; with
    more than a handful gcc gives up vectorising them unless it may emit more
    run-time aliasing checks (measured: the DGN state update runs 4x faster with it).
    """
    flag = "--param=vect-max-version-for-alias-checks=64"
    args = list(prefs["codegen.cpp.extra_compile_args_gcc"])
    if flag not in args:
        prefs.codegen.cpp.extra_compile_args_gcc = args + [flag]


def _symlink(src, dst) -> None:
    tmp = Path(f"{dst}.{uuid.uuid4().hex}")
    os.symlink(src, tmp)
    os.replace(tmp, dst)  # atomic: another process may be doing the same


def gpu_available() -> bool:
    """Whether a CUDA GPU can be used here (nvidia-smi lists one)."""
    return shutil.which("nvidia-smi") is not None and os.system("nvidia-smi -L > /dev/null 2>&1") == 0


def _hash_tree(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(
        p for p in directory.rglob("*") if p.is_file() and "results" not in p.relative_to(directory).parts
    ):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def _forget_network_caches() -> None:
    """Empty Brian2's memoised code translation, whose keys keep old networks' functions alive.

    A PoissonInput's binomial function stays referenced from those keys after its
    network is gone, so an identical network built later would get the name
    ``poissoninput_binomial_1``, other generated code, and a recompile.
    """
    for function in _NETWORK_CACHES:
        function.__wrapped__._cache.clear()


def _caller_namespace(level: int) -> dict:
    """The locals and globals ``level`` frames above the caller, as ``brian2.run()`` takes them.

    dgnsim's own code defines every name in its objects, so when it is the caller the
    namespace is empty: its local variables (``c``, ``dt``, ``v_rest``, ...) must neither
    resolve a name nor draw Brian2's warnings about names found twice.
    """
    frame = inspect.currentframe()
    for _ in range(level + 1):
        frame = frame.f_back if frame is not None else None
    if frame is not None and frame.f_globals.get("__name__", "").startswith("dgnsim."):
        return {}
    return get_local_namespace(level + 1)


def _orphaned(obj) -> bool:
    """Whether ``obj`` belongs to a group or synapses that no longer exist (never added by Brian2 either)."""
    for attr in ("group", "synapses"):
        owner = vars(obj).get(attr)
        if isinstance(owner, weakref.ProxyTypes):
            try:
                owner.__class__  # noqa: B018 - touching a dead proxy raises
            except ReferenceError:
                return True
    return False


def _contained(obj):
    """The objects inside ``obj``, recursively."""
    for sub in getattr(obj, "contained_objects", ()):
        yield sub
        yield from _contained(sub)


class Simulation:
    """One network on one backend: build once, run many times.

    Use as a context manager and create the network's objects inside it, as in a plain
    Brian2 script: objects created in the ``with`` block are collected when the network
    is built, as Brian2's ``run()`` collects them (:meth:`add` adds objects made
    elsewhere). Names in equation strings resolve from the namespace of the code that
    calls :meth:`build`, as in ``brian2.run()``, or from an explicit ``namespace``.
    Then :meth:`build` with the duration, and :meth:`run` as often as needed, with
    ``run_args`` (``{group.var: value}``) for new parameter values or initial states.
    Every run starts from the state at build time, with the same random numbers, so
    equal run arguments give equal results. Read monitors inside the ``with`` block.

    Parameters
    ----------
    device : str
        One of :data:`DEVICES` (``runtime`` is Brian2's runtime target with its default code
        generation, ``numpy`` and ``cython`` pick one).
    dt : Quantity (time)
        The time step of the default clock.
    seed : int
        Seed of Brian2's random numbers (the same in every run).
    compile_only : bool
        Standalone: build, but refuse to run (e.g. CUDA on a machine without a GPU).
    progress : bool
        Show the binary's progress report (standalone) or Brian2's (runtime) on stderr.
    namespace : dict, optional
        Names for the equations, instead of the namespace of the code that calls :meth:`build`.

    Raises
    ------
    ValueError
        If ``device`` is unknown or ``dt`` is not positive.
    TypeError
        If ``namespace`` is not a dict.
    """

    def __init__(
        self,
        device: str = "numpy",
        *,
        dt: Quantity = 0.1 * brian2.ms,
        seed: int = 0,
        compile_only: bool = False,
        progress: bool = False,
        namespace: dict | None = None,
    ):
        if device not in DEVICES:
            raise ValueError(f"device: one of {', '.join(DEVICES)}, not {device!r}")
        if namespace is not None and not isinstance(namespace, dict):
            raise TypeError(f"namespace: a dict of names to values, not {type(namespace).__name__}")
        self.namespace = namespace
        self.device = device
        self.dt = require_quantity("dt", dt, second, "ms")
        if float(self.dt) <= 0:
            raise ValueError(f"dt: must be positive, got {dt!r}")
        self.seed = int(seed)
        self.compile_only = compile_only
        self.progress = progress
        self.network = Network(name="dgnsim_network")
        self.directory: Path | None = None
        self.duration: Quantity | None = None
        self.timings: dict[str, float] = {}
        self._results: str | None = None

    # -- device switching -------------------------------------------------------
    def __enter__(self):
        BRIAN2_LOCK.acquire()
        try:
            return self._enter()
        except BaseException:
            BRIAN2_LOCK.release()
            raise

    def _enter(self):
        _forget_network_caches()
        gc.collect()  # forget objects of earlier simulations, so generated names repeat
        prefs._backup()  # CUDA settings must not leak into later builds
        if self.device in STANDALONE:
            if self.device == "cuda_standalone":
                configure_cuda()
            else:
                configure_cpp()
            set_device(self.device, build_on_run=False)
        else:
            set_device("runtime")
            prefs.codegen.target = "auto" if self.device == "runtime" else self.device
        start_scope()
        self._scope = BrianObject._scope_current_key
        defaultclock.dt = self.dt
        brian_seed(self.seed)
        return self

    def __exit__(self, *exc):
        try:
            self._drop_results()
            if self.device in STANDALONE:
                get_device().reinit()
            set_device("runtime")
            prefs._restore()
        finally:
            BRIAN2_LOCK.release()
        return False

    def add(self, *objects):
        """Add Brian2 objects to the network; returns the (single) object for chaining.

        Parameters
        ----------
        *objects : brian2.BrianObject
            Groups, synapses, monitors and other objects to add.

        Returns
        -------
        brian2.BrianObject or tuple
            The object, or the objects if more than one was given.
        """
        self.network.add(*objects)
        return objects[0] if len(objects) == 1 else objects

    def _collect(self) -> None:
        """Add the objects created in this ``with`` block that are not in the network yet.

        As Brian2's ``run()``: top-level objects of the current scope that are still
        referenced, not the objects that they contain (a group's state updater,
        thresholder, resetter). An object nothing refers to is gone, as in Brian2: keep a
        name for it, or :meth:`add` it.
        """
        created = [ref() for ref in BrianObject.__instances__()]
        created = [
            obj
            for obj in created
            if obj is not None
            and obj.add_to_magic_network
            and getattr(obj, "_scope_key", None) == self._scope
            and not _orphaned(obj)
        ]
        contained = {id(sub) for obj in created for sub in _contained(obj)}
        present = {id(obj) for obj in self.network.objects} | {
            id(sub) for obj in self.network.objects for sub in _contained(obj)
        }
        for obj in created:
            if id(obj) not in present and id(obj) not in contained:
                self.network.add(obj)
                present.add(id(obj))

    # -- build and run ----------------------------------------------------------
    def build(self, duration: Quantity, *, level: int = 0) -> None:
        """Prepare to run for ``duration``; standalone: generate and compile (or reuse).

        Names that the objects' equations use and that they do not define resolve from
        the caller's namespace (locals, then globals), ``level`` frames up from the
        caller, unless the simulation was given ``namespace``.

        Parameters
        ----------
        duration : Quantity (time)
            How long every :meth:`run` simulates.
        level : int
            How many frames above the caller the namespace is taken from.

        Raises
        ------
        ValueError
            If ``duration`` is not positive.
        """
        self.duration = require_quantity("duration", duration, second, "ms")
        if float(self.duration) <= 0:
            raise ValueError(f"duration: must be positive, got {duration!r}")
        self._collect()
        self._run_namespace = self.namespace if self.namespace is not None else _caller_namespace(level + 1)
        if self.device not in STANDALONE:
            self.network.store("dgnsim_start")
            return
        self.network.run(self.duration, report=self._report(), namespace=self._run_namespace)
        dev = get_device()
        root = build_root()
        root.mkdir(parents=True, exist_ok=True)
        scratch = root / f"scratch-{uuid.uuid4().hex}"
        start = time.perf_counter()
        dev.build(directory=str(scratch), compile=False, run=False)
        self.timings["codegen_s"] = time.perf_counter() - start
        key = root / f"{self.device}-{_hash_tree(scratch)}"
        start = time.perf_counter()
        if (key / "main").exists():
            shutil.rmtree(scratch, ignore_errors=True)
            self.timings["compile_s"] = 0.0
            self.timings["reused"] = True
        else:
            compiler = prefs["codegen.cpp.compiler"] or ("gcc" if os.name != "nt" else "msvc")
            dev.compile_source(str(scratch), compiler, False, False)
            try:
                os.rename(scratch, key)  # atomic; fails if another process got there first
            except OSError:
                shutil.rmtree(scratch, ignore_errors=True)
            self.timings["compile_s"] = time.perf_counter() - start
            self.timings["reused"] = False
        dev.project_dir = str(key)
        self.directory = key

    def run(self, run_args: dict | None = None) -> None:
        """Run the built network from its initial state, with optional new values.

        Parameters
        ----------
        run_args : dict, optional
            ``{group.var: value}`` (and, standalone, ``{TimedArray: values}``): new
            parameter values or initial states for this run, without a rebuild.

        Raises
        ------
        RuntimeError
            If :meth:`build` was not called first.
        BackendError
            If the simulation was made ``compile_only``, or CUDA has no GPU here.
        """
        if self.duration is None:
            raise RuntimeError("call build(duration) before run()")
        run_args = dict(run_args or {})
        start = time.perf_counter()
        if self.device not in STANDALONE:
            self.network.restore("dgnsim_start", restore_random_state=True)
            for view, value in run_args.items():
                view.group.__setattr__(view.name, value)
            self.network.run(self.duration, report=self._report(), namespace=self._run_namespace)
        else:
            if self.compile_only or (self.device == "cuda_standalone" and not gpu_available()):
                raise BackendError(f"{self.device}: built in {self.directory}, but running it needs a GPU")
            self._drop_results()
            self._results = f"results/{uuid.uuid4().hex}"
            dev = get_device()
            dev.run(
                directory=str(self.directory),
                results_directory=self._results,
                with_output=self.progress,
                run_args=run_args,
            )
            self.timings["network_s"] = float(dev._last_run_time)  # the binary's own clock
        self.timings["run_s"] = time.perf_counter() - start

    def _report(self):
        return "stderr" if self.progress else None

    def _drop_results(self) -> None:
        if self._results and self.directory is not None:
            shutil.rmtree(self.directory / self._results, ignore_errors=True)
        self._results = None
