import { useRef } from 'react';
import { offsetOf, QueryProblem, tokenize } from '../cypher';

// A textarea over a highlighted copy of its text: the textarea takes the typing (so
// everything the browser does for text input keeps working), the layer beneath shows
// keywords, labels, strings and the engine's error position.

export function QueryEditor({
  value,
  onChange,
  onRun,
  problem,
}: {
  value: string;
  onChange: (v: string) => void;
  onRun: () => void;
  problem: QueryProblem | null;
}) {
  const layer = useRef<HTMLPreElement>(null);
  const errorAt = problem && problem.line > 0 ? offsetOf(value, problem.line, problem.column) : -1;
  const tokens = tokenize(value + '\n');
  return (
    <div className="editor">
      <pre className="editor-layer" aria-hidden="true" ref={layer}>
        {tokens.map((t, i) => {
          if (errorAt >= t.start && errorAt < t.start + t.text.length) {
            const k = errorAt - t.start;
            return (
              <span key={i} className={`tok-${t.kind}`}>
                {t.text.slice(0, k)}
                <mark className="tok-error">{t.text[k] === '\n' ? ' \n' : t.text[k]}</mark>
                {t.text.slice(k + 1)}
              </span>
            );
          }
          return (
            <span key={i} className={`tok-${t.kind}`}>
              {t.text}
            </span>
          );
        })}
      </pre>
      <textarea
        aria-label="openCypher query (Ctrl+Enter runs it)"
        aria-describedby={problem ? 'query-problem' : undefined}
        aria-invalid={problem ? true : undefined}
        spellCheck={false}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        onScroll={(e) => {
          if (layer.current) {
            layer.current.scrollTop = e.currentTarget.scrollTop;
            layer.current.scrollLeft = e.currentTarget.scrollLeft;
          }
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            onRun();
          }
        }}
      />
      {problem && (
        <p id="query-problem" className="state error" role="alert" data-testid="query-problem">
          {problem.line > 0 ? `Line ${problem.line}, column ${problem.column}: ` : ''}
          {problem.message}
        </p>
      )}
    </div>
  );
}
