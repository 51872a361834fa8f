//! Segment Anything in burn.
