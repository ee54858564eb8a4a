export default function Clusters() {
  return <h1>Clusters</h1>;
}
