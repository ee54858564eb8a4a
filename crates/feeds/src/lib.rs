//! Vulnerability feeds: OSV, KEV, EPSS, Exploit-DB sync and the local advisory database.
