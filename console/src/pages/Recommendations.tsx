export default function Recommendations() {
  return <h1>Recommendations</h1>;
}
