//! Parses a module into `ModuleInfo` and hands out function bodies.
