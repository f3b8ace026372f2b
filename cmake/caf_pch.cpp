// Anchor translation unit for the shared CAF precompiled header.
