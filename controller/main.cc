// weft-controller: the reference controller. See docs/CONTROL_PLANE.md.
#include "controller/server.h"

int main(int argc, char** argv) { return weft::RunController(argc, argv); }
