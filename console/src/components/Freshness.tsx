import { Text } from './Text';
import { when } from '../hooks';

// One row per monitored target: when it last worked, when it runs next, and why it fails.

export interface TargetStatus {
  kind: string;
  id: string;
  last_attempt?: string | null;
  last_success?: string | null;
  last_error?: string | null;
  consecutive_failures?: number;
  next_attempt?: string | null;
}

export function statusWord(t: TargetStatus): string {
  if (t.last_error && (t.consecutive_failures ?? 0) > 0) return 'failing';
  if (t.last_success) return 'ok';
  return 'waiting for the first run';
}

export function TargetTable({ targets, caption }: { targets: TargetStatus[]; caption: string }) {
  return (
    <table className="data">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Kind</th>
          <th scope="col">Target</th>
          <th scope="col">Status</th>
          <th scope="col">Last success</th>
          <th scope="col">Next run</th>
          <th scope="col">Last error</th>
        </tr>
      </thead>
      <tbody>
        {targets.map((t) => (
          <tr key={t.kind + t.id}>
            <td>{t.kind}</td>
            <td>
              <Text value={t.id} max={60} />
            </td>
            <td className={`status-${statusWord(t).split(' ')[0]}`}>{statusWord(t)}</td>
            <td>{when(t.last_success)}</td>
            <td>{when(t.next_attempt)}</td>
            <td>{t.last_error ? <Text value={t.last_error} max={160} /> : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
