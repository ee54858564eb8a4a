//! Image acquisition: references, registry client, archives, streaming layer walk.
