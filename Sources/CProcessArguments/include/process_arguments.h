#ifndef PHC_PROCESS_ARGUMENTS_H
#define PHC_PROCESS_ARGUMENTS_H
// The command line as the C library hands it to the program, for the Swift runtime's
// `CommandLine`. See process_arguments.c.

/// The program's arguments (`argv`, with their count in `count`), or those set by
/// `_swift_stdlib_overrideUnsafeArgvArgc`.
char **_swift_stdlib_getUnsafeArgvArgc(int *count);

/// Replaces the arguments `CommandLine` sees (the Swift runtime's own hook).
void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc);

#endif
