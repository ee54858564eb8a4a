//! Version comparison per ecosystem, vulnerability matching and risk priority.
