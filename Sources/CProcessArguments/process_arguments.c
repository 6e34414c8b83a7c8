// Where Swift's `CommandLine` finds the program's arguments, for the deployable binaries.
//
// With the Swift standard library linked statically, its own version of these two functions
// (stdlib/public/stubs/CommandLine.cpp) comes with a static initialiser that finds argv by
// reading /proc/self/maps with fopen and sscanf and walking the stack back from `environ`: a third
// of the instructions of `phc-agent --version`, at every start of a program a timer runs every
// minute. Defining both functions here keeps that object file out of the link, and with it the
// initialiser. glibc passes argc and argv to the executable's constructors, which is where they
// are taken from instead.
//
// Linked into the executables only. With the standard library linked dynamically (debug builds,
// tests), these definitions come first and behave the same; the library's initialiser still runs.

#include "process_arguments.h"

#include <stddef.h>

static char **program_argv = NULL;
static int program_argc = 0;
static char **override_argv = NULL;
static int override_argc = 0;

__attribute__((constructor)) static void take_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    program_argc = argc;
    program_argv = argv;
}

char **_swift_stdlib_getUnsafeArgvArgc(int *count) {
    if (override_argv != NULL) {
        *count = override_argc;
        return override_argv;
    }
    *count = program_argc;
    return program_argv;
}

void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc) {
    override_argv = argv;
    override_argc = argc;
}
