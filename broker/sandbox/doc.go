// Package sandbox confines one worker process per call (DESIGN §7.1): seccomp
// denying socket creation, an empty network namespace, Landlock allow-lists for the
// filesystem, a PID namespace and a pids cgroup per call, and no_new_privs. Each
// layer stands alone; Probe says which ones this kernel and this program have.
//
// Go cannot run code between fork and exec, so the runner starts this program again
// (os.Executable) with a hidden first argument; MaybeRunChild, called first thing in
// main (and in TestMain of packages that run workers), turns that process into the
// namespace's init: it applies the layers to itself, starts the interpreter, forwards
// signals, reaps, and reports the interpreter's wait status on a pipe.
//
// It owns nothing of the worker protocol, the limits' values or the call's paths: the
// runner (package broker) decides them and hands them over in a Spec. It must not
// log, read config or touch the engine's state. Only Linux has layers; elsewhere
// every layer is reported missing.
package sandbox
