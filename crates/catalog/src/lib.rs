//! Package catalogers: OS detection, OS and language package inventories.
