#ifndef PHC_CYAML_SHIM_H
#define PHC_CYAML_SHIM_H
// Debian's libyaml-dev. The library is linked statically (-l:libyaml.a, see Package.swift), so
// that the binaries need nothing on a stock host beyond what ldd lists for them already.
#include <yaml.h>
#endif
