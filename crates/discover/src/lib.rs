//! Agentless Kubernetes discovery: snapshots through the API, manifests, doctor.
