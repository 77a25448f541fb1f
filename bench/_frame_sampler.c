/* A CPU-time sampler for bench/decompose.py (CPython 3.11 only).
 *
 * A POSIX timer on the calling thread's CPU clock (or, with a wall clock, for machines
 * whose CPU-clock timers tick too coarsely) sends SIGPROF; the handler, written in C, reads
 * the thread's innermost Python frame at that instant and walks outwards to the first code
 * object registered with a category, and counts the sample there. Nothing runs per call (no
 * profiling hook, unlike cProfile), and the sample is taken wherever the thread was
 * interrupted, inside a builtin too (charged to the Python frame that called it), not at the
 * interpreter's next check of pending signals (where a Python-level signal handler would
 * see it, shifted towards the next function entered).
 *
 * register(code, category) before start(); start(interval_us, wall); stop() -> counts.
 * zero() and dump(label): callgrind's client requests, for instruction counts of a part.
 * The SIGPROF handler stays installed after stop() (a tick may still be pending).
 */
#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE
#include <Python.h>
#include <internal/pycore_frame.h>
#undef Py_BUILD_CORE

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030C0000
#error "the frame layout read here is CPython 3.11's"
#endif

#define TABLE_BITS 18
#define TABLE_SIZE (1u << TABLE_BITS)
#define CATEGORIES 8 /* 0: no category on the stack; 7 (apart): innermost code not registered */
#define MAX_DEPTH 512

static void *keys[TABLE_SIZE];
static unsigned char values[TABLE_SIZE];
static uint32_t own_hits[TABLE_SIZE];    /* samples whose innermost registered frame it was */
static uint32_t charged_hits[TABLE_SIZE]; /* samples charged to it (first frame of a part) */
static size_t used;
static volatile uint64_t counts[CATEGORIES];
static PyThreadState *sampled;
static timer_t timer;
static int running;
static struct sigaction previous_action;

static size_t slot_of(void *key) {
    uintptr_t h = (uintptr_t)key;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> (64 - TABLE_BITS));
}

static long find(void *key) { /* the slot of a registered key, or -1 */
    size_t slot = slot_of(key);
    while (keys[slot] != NULL) {
        if (keys[slot] == key) return (long)slot;
        slot = (slot + 1) & (TABLE_SIZE - 1);
    }
    return -1;
}

/* A sample may land while the interpreter links a new C-level frame in: for a few
 * instructions the thread's current frame is then stale stack memory. Reading it may fault;
 * such a sample is dropped (counted apart) instead of crashing the process. */
static sigjmp_buf recover;
static volatile sig_atomic_t walking;
static volatile uint64_t dropped;
static struct sigaction previous_segv, previous_bus;

static void on_fault(int signo) {
    if (walking) siglongjmp(recover, 1);
    sigaction(SIGSEGV, &previous_segv, NULL);
    sigaction(SIGBUS, &previous_bus, NULL);
    raise(signo);
}

static void on_sample(int signo) {
    (void)signo;
    int saved = errno;
    PyThreadState *tstate = sampled;
    if (!running || tstate == NULL) {
        errno = saved;
        return;
    }
    volatile int category = 0;
    volatile int unknown = 0;
    if (sigsetjmp(recover, 1) == 0) {
        walking = 1;
        _PyInterpreterFrame *frame = tstate->cframe->current_frame;
        long own = -1, charged = -1;
        for (int depth = 0; frame != NULL && depth < MAX_DEPTH; depth++) {
            long slot = find(frame->f_code);
            if (slot < 0) {
                if (depth == 0) unknown = 1;
            } else {
                if (own < 0) own = slot;
                if (values[slot] > 0) {
                    charged = slot;
                    category = values[slot];
                    break;
                }
            }
            frame = frame->previous;
        }
        walking = 0;
        if (own >= 0) own_hits[own]++;
        if (charged >= 0) charged_hits[charged]++;
        counts[category]++;
        if (unknown) counts[CATEGORIES - 1]++;
    } else {
        walking = 0;
        dropped++;
    }
    errno = saved;
}

static PyObject *sampler_register(PyObject *self, PyObject *args) {
    PyObject *code;
    int category;
    if (!PyArg_ParseTuple(args, "O!i", &PyCode_Type, &code, &category)) return NULL;
    if (running) {
        PyErr_SetString(PyExc_RuntimeError, "register before start()");
        return NULL;
    }
    if (category < 0 || category >= CATEGORIES - 1) {
        PyErr_SetString(PyExc_ValueError, "category out of range");
        return NULL;
    }
    size_t slot = slot_of(code);
    while (keys[slot] != NULL && keys[slot] != code) slot = (slot + 1) & (TABLE_SIZE - 1);
    if (keys[slot] == NULL) {
        if (used >= TABLE_SIZE / 2) {
            PyErr_SetString(PyExc_MemoryError, "too many code objects");
            return NULL;
        }
        Py_INCREF(code); /* kept alive: its address must not be reused meanwhile */
        keys[slot] = code;
        used++;
    }
    values[slot] = (unsigned char)category;
    Py_RETURN_NONE;
}

static PyObject *sampler_start(PyObject *self, PyObject *args) {
    long interval_us;
    int wall;
    if (!PyArg_ParseTuple(args, "lp", &interval_us, &wall)) return NULL;
    if (running) {
        PyErr_SetString(PyExc_RuntimeError, "already sampling");
        return NULL;
    }
    memset((void *)counts, 0, sizeof(counts));
    memset(own_hits, 0, sizeof(own_hits));
    memset(charged_hits, 0, sizeof(charged_hits));
    dropped = 0;
    sampled = PyThreadState_Get();
    struct sigaction fault;
    memset(&fault, 0, sizeof(fault));
    fault.sa_handler = on_fault;
    fault.sa_flags = SA_NODEFER;
    sigemptyset(&fault.sa_mask);
    sigaction(SIGSEGV, &fault, &previous_segv);
    sigaction(SIGBUS, &fault, &previous_bus);
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_sample;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGPROF, &action, &previous_action) != 0) return PyErr_SetFromErrno(PyExc_OSError);
    struct sigevent event;
    memset(&event, 0, sizeof(event));
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = SIGPROF;
    event._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    clockid_t clock = wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID;
    if (timer_create(clock, &event, &timer) != 0) {
        sigaction(SIGPROF, &previous_action, NULL);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    struct itimerspec spec;
    spec.it_interval.tv_sec = interval_us / 1000000;
    spec.it_interval.tv_nsec = (interval_us % 1000000) * 1000;
    spec.it_value = spec.it_interval;
    running = 1;
    if (timer_settime(timer, 0, &spec, NULL) != 0) {
        running = 0;
        timer_delete(timer);
        sigaction(SIGPROF, &previous_action, NULL);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

static PyObject *sampler_stop(PyObject *self, PyObject *unused) {
    if (!running) {
        PyErr_SetString(PyExc_RuntimeError, "not sampling");
        return NULL;
    }
    running = 0; /* a tick still pending after the timer is gone finds nothing to do */
    timer_delete(timer);
    sampled = NULL;
    sigaction(SIGSEGV, &previous_segv, NULL);
    sigaction(SIGBUS, &previous_bus, NULL);
    PyObject *result = PyTuple_New(CATEGORIES + 1);
    if (result == NULL) return NULL;
    for (int i = 0; i < CATEGORIES; i++) {
        PyTuple_SET_ITEM(result, i, PyLong_FromUnsignedLongLong(counts[i]));
    }
    PyTuple_SET_ITEM(result, CATEGORIES, PyLong_FromUnsignedLongLong(dropped));
    return result;
}

/* Per code object hit by the last sampling: (code, own samples, charged samples). */
static PyObject *sampler_hits(PyObject *self, PyObject *unused) {
    PyObject *result = PyList_New(0);
    if (result == NULL) return NULL;
    for (size_t slot = 0; slot < TABLE_SIZE; slot++) {
        if (keys[slot] == NULL || (own_hits[slot] == 0 && charged_hits[slot] == 0)) continue;
        PyObject *item = Py_BuildValue("(OII)", (PyObject *)keys[slot], own_hits[slot],
                                       charged_hits[slot]);
        if (item == NULL || PyList_Append(result, item) != 0) {
            Py_XDECREF(item);
            Py_DECREF(result);
            return NULL;
        }
        Py_DECREF(item);
    }
    return result;
}

/* Under callgrind: zero its counts, and dump them as one part named `label` (the
 * instructions since the last zero or dump); outside valgrind both do nothing. */
static PyObject *sampler_zero(PyObject *self, PyObject *unused) {
#ifdef HAVE_CALLGRIND
    CALLGRIND_ZERO_STATS;
#endif
    Py_RETURN_NONE;
}

static PyObject *sampler_dump(PyObject *self, PyObject *args) {
    const char *label;
    if (!PyArg_ParseTuple(args, "s", &label)) return NULL;
#ifdef HAVE_CALLGRIND
    CALLGRIND_DUMP_STATS_AT(label);
#endif
    Py_RETURN_NONE;
}

static PyObject *sampler_under_valgrind(PyObject *self, PyObject *unused) {
#ifdef HAVE_CALLGRIND
    return PyBool_FromLong(RUNNING_ON_VALGRIND);
#else
    Py_RETURN_FALSE;
#endif
}

static PyMethodDef methods[] = {
    {"hits", sampler_hits, METH_NOARGS, "[(code, own samples, charged samples)]"},
    {"zero", sampler_zero, METH_NOARGS, "callgrind: zero the counts"},
    {"dump", sampler_dump, METH_VARARGS, "callgrind: dump the counts since the last zero"},
    {"under_valgrind", sampler_under_valgrind, METH_NOARGS, "whether valgrind runs us"},
    {"register", sampler_register, METH_VARARGS, "register(code, category): 0 (charged to the caller) .. 6"},
    {"start", sampler_start, METH_VARARGS, "start(interval_us, wall): sample this thread"},
    {"stop", sampler_stop, METH_NOARGS, "stop() -> samples per category 0..6 (0: none), innermost unknown, dropped"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_frame_sampler", "CPU-time sampling of the innermost Python frame.",
    -1, methods,
};

PyMODINIT_FUNC PyInit__frame_sampler(void) { return PyModule_Create(&module); }
