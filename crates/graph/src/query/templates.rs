//! Named queries for common questions, written in the query language itself. Each one
//! has a test with matching and non-matching workloads in
//! crates/graph/tests/query_templates.rs.

/// A named query.
#[derive(Clone, Copy, Debug)]
pub struct Template {
    pub name: &'static str,
    pub description: &'static str,
    pub query: &'static str,
}

pub const TEMPLATES: &[Template] = &[
    Template {
        name: "exposed-pods-with-kev",
        description: "Pods exposed to the internet running images with known exploited (KEV) vulnerabilities",
        query: "MATCH (p:Pod)-[:CONTAINS]->(:Container)-[:USES_IMAGE]->(i:Image)-[:HAS_VULNERABILITY]->(v:Vulnerability)
WHERE has_insight(p, 'exposedToInternet') AND v.kev = true
RETURN DISTINCT p.key AS pod, i.name AS image, v.id AS vulnerability
ORDER BY pod, vulnerability",
    },
    Template {
        name: "namespaces-with-vulnerable-pods",
        description: "Namespaces containing pods whose images have critical or high vulnerabilities",
        query: "MATCH (ns:Namespace)-[:CONTAINS]->(p:Pod)-[:CONTAINS]->(:Container)-[:USES_IMAGE]->(:Image)-[:HAS_VULNERABILITY]->(v:Vulnerability)
WHERE v.severity IN ['critical', 'high']
RETURN ns.name AS namespace, count(DISTINCT p) AS pods, count(DISTINCT v) AS vulnerabilities
ORDER BY pods DESC, namespace",
    },
    Template {
        name: "cluster-wide-secret-readers",
        description: "Service accounts, users and groups that can read secrets in every namespace",
        query: "MATCH (id:ServiceAccount|User|Group)
WHERE any(e IN insight_evidence(id, 'canReadSecrets') WHERE e CONTAINS 'cluster-wide')
RETURN id.key AS identity
ORDER BY identity",
    },
    Template {
        name: "privileged-containers",
        description: "Privileged containers (securityContext.privileged: true)",
        query: "MATCH (p:Pod)-[:CONTAINS]->(c:Container)
WHERE has_insight(c, 'privilegedContainer')
RETURN c.key AS container, c.image AS image
ORDER BY container",
    },
    Template {
        name: "pods-that-can-escape",
        description: "Pods with a container that can escape to its node, and the rules that allow it",
        query: "MATCH (p:Pod)-[:CONTAINS]->(:Container)-[e:CAN_ESCAPE_TO]->(n:Node)
RETURN p.key AS pod, n.name AS node, collect(DISTINCT e.rule) AS rules
ORDER BY pod",
    },
    Template {
        name: "fixable-critical-vulnerabilities",
        description: "Images with critical vulnerabilities that have a fix (needs the image findings)",
        query: "MATCH (i:Image)-[r:HAS_VULNERABILITY]->(v:Vulnerability)
WHERE v.severity = 'critical' AND r.fixAvailable = true
RETURN i.name AS image, v.id AS vulnerability, r.package AS package, r.installedVersion AS installed, r.fixedVersions AS fixedIn
ORDER BY image, vulnerability",
    },
    Template {
        name: "root-with-automounted-token",
        description: "Containers that may run as root in pods with an automounted service-account token",
        query: "MATCH (p:Pod)-[:CONTAINS]->(c:Container)
WHERE has_insight(c, 'runsAsRoot') AND has_insight(p, 'serviceAccountTokenAutomounted')
MATCH (p)-[:AUTHENTICATES_AS]->(sa:ServiceAccount)
RETURN c.key AS container, sa.key AS serviceAccount
ORDER BY container",
    },
    Template {
        name: "cluster-admin-equivalents",
        description: "Identities whose permissions amount to cluster-admin",
        query: "MATCH (id)
WHERE has_insight(id, 'clusterAdminEquivalent')
RETURN id.key AS identity, insight_evidence(id, 'clusterAdminEquivalent') AS evidence
ORDER BY identity",
    },
    Template {
        name: "exposed-services-without-network-policy",
        description: "Services reachable from the internet that route to pods no NetworkPolicy selects",
        query: "MATCH (s:Service)-[:ROUTES_TRAFFIC_TO]->(p:Pod)
WHERE has_insight(s, 'exposedToInternet') AND has_insight(p, 'notSelectedByNetworkPolicy')
RETURN s.key AS service, s.type AS type, collect(p.name) AS pods
ORDER BY service",
    },
    Template {
        name: "exposed-pods-reaching-cluster-admin",
        description: "Internet-exposed pods from which attack edges lead to cluster-admin (at most 6 steps after the exploit)",
        query: "MATCH (:Internet)-[:ROUTES_TRAFFIC_TO|EXPOSES*1..3]->(p:Pod)-[:EXPLOITS]->(:Container)-[r:AUTHENTICATES_AS|CAN_CREATE_PODS_IN|CAN_ASSUME|ADMINISTERS|CAN_ESCAPE_TO|CAN_STEAL_TOKEN_OF|CAN_EXEC_INTO|CAN_PATCH|CAN_IMPERSONATE|CONTROLS*1..6]->(:Cluster)
WHERE all(e IN r WHERE e.traversable)
RETURN DISTINCT p.key AS pod
ORDER BY pod",
    },
    Template {
        name: "pod-exec-identities",
        description: "Identities that can exec into running containers, and how many",
        query: "MATCH (id)-[:CAN_EXEC_INTO]->(c:Container)
RETURN id.key AS identity, count(DISTINCT c) AS containers
ORDER BY containers DESC, identity",
    },
    Template {
        name: "pod-creators",
        description: "Identities that can create pods (or controllers), with the namespaces",
        query: "MATCH (id)-[:CAN_CREATE_PODS_IN]->(ns:Namespace)
RETURN id.key AS identity, collect(DISTINCT ns.name) AS namespaces
ORDER BY identity",
    },
    Template {
        name: "host-namespace-pods",
        description: "Pods sharing the host's network, PID or IPC namespace",
        query: "MATCH (p:Pod)
WHERE p.hostNetwork = true OR p.hostPID = true OR p.hostIPC = true
RETURN p.key AS pod, coalesce(p.hostNetwork, false) AS hostNetwork, coalesce(p.hostPID, false) AS hostPID, coalesce(p.hostIPC, false) AS hostIPC
ORDER BY pod",
    },
    Template {
        name: "sensitive-host-mounts",
        description: "Containers that mount a sensitive host path or the container runtime socket",
        query: "MATCH (c:Container)
WHERE has_insight(c, 'sensitiveHostPath') OR has_insight(c, 'runtimeSocketMounted')
RETURN c.key AS container, insight_evidence(c, 'sensitiveHostPath') + insight_evidence(c, 'runtimeSocketMounted') AS mounts
ORDER BY container",
    },
    Template {
        name: "exploitable-vulnerabilities-in-use",
        description: "Vulnerabilities known exploited or with a public exploit, by image, with the containers running it",
        query: "MATCH (c:Container)-[:USES_IMAGE]->(i:Image)-[:HAS_VULNERABILITY]->(v:Vulnerability)
WHERE v.kev = true OR v.exploitPublished = true
RETURN v.id AS vulnerability, i.name AS image, count(DISTINCT c) AS containers
ORDER BY containers DESC, vulnerability, image",
    },
    Template {
        name: "pod-security-baseline-violations",
        description: "Pods violating the Pod Security Standards baseline, with the violations",
        query: "MATCH (p:Pod)
WHERE has_insight(p, 'podSecurityBaselineViolation')
RETURN p.key AS pod, insight_evidence(p, 'podSecurityBaselineViolation') AS violations
ORDER BY pod",
    },
];

/// The template called `name`.
pub fn template(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}
