// Small controls the Settings and Explore pages share: copy buttons, a
// confirmation step before what cannot be undone, the dialog that shows a
// new secret once, and the state of a change sent to the server.
import { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useSession } from '../ui';
import './settings-parts.css';

// canChange says whether the session may change the project (admin, or
// root acting as the chosen project's admin); a read session may not.
export function useCanChange(): boolean {
  const s = useSession();
  return s.kind === 'admin' || s.kind === 'root';
}

// copyText puts text on the clipboard, with the older way as a fallback
// (the Clipboard API needs a secure context: https or localhost).
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

export function CopyButton({ text, what, testid, label = 'Copy' }: { text: string; what: string; testid?: string; label?: string }) {
  const [state, setState] = useState<'' | 'copied' | 'failed'>('');
  useEffect(() => {
    if (!state) return;
    const t = setTimeout(() => setState(''), 2000);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <>
      <button type="button" aria-label={'Copy ' + what} data-testid={testid} onClick={async () => setState((await copyText(text)) ? 'copied' : 'failed')}>
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy' : label}
      </button>
      <span class="sr-only" role="status">
        {state === 'copied' ? what + ' copied' : state === 'failed' ? 'Could not copy; select the text and copy it' : ''}
      </span>
    </>
  );
}

// CopyField is a value to copy: monospace, selectable, with its button.
export function CopyField({ label, value, testid }: { label: string; value: string; testid?: string }) {
  return (
    <div class="st-copy">
      <div class="st-copy-label">{label}</div>
      <div class="st-copy-row">
        <pre class="code st-copy-value" data-testid={testid} tabIndex={0} aria-label={label}>
          {value}
        </pre>
        <CopyButton text={value} what={label} />
      </div>
    </div>
  );
}

// Confirm asks once more before an action that cannot be undone.
export function Confirm({
  label,
  what,
  question,
  yes,
  onYes,
  disabled,
  testid,
}: {
  label: string;
  what?: string; // what the action acts on, for screen readers
  question: string;
  yes: string;
  onYes: () => void;
  disabled?: boolean;
  testid?: string;
}) {
  const [asking, setAsking] = useState(false);
  const yesRef = useRef<HTMLButtonElement>(null);
  const startRef = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);
  useEffect(() => {
    if (asking) yesRef.current?.focus();
    else if (wasAsking.current) startRef.current?.focus();
    wasAsking.current = asking;
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" class="st-danger" ref={startRef} disabled={disabled} aria-label={what ? `${label} ${what}` : undefined} onClick={() => setAsking(true)} data-testid={testid}>
        {label}
      </button>
    );
  }
  return (
    <span class="st-confirm" role="group" aria-label={question}>
      <span>{question}</span>
      <button
        type="button"
        class="st-danger st-solid"
        ref={yesRef}
        onClick={() => {
          setAsking(false);
          onYes();
        }}
        data-testid={testid && testid + '-yes'}
      >
        {yes}
      </button>
      <button type="button" onClick={() => setAsking(false)} onKeyDown={(e) => e.key === 'Escape' && setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

// SecretDialog shows new secrets once, modally, with copy buttons and the
// warning that they will not be shown again.
export function SecretDialog({
  title,
  secrets,
  children,
  onClose,
}: {
  title: string;
  secrets: { label: string; value: string }[];
  children?: ComponentChildren;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} class="st-dialog" aria-labelledby="st-dialog-title" aria-describedby="st-dialog-warn" onClose={onClose} data-testid="secret-dialog">
      <h2 id="st-dialog-title">{title}</h2>
      <p id="st-dialog-warn" class="st-warn">
        <strong>Copy {secrets.length === 1 ? 'it' : 'them'} now: {secrets.length === 1 ? 'it' : 'they'} will not be shown again.</strong> Alidade stores only a hash of
        each key; a lost key cannot be recovered, only revoked and replaced.
      </p>
      {secrets.map((s) => (
        <CopyField label={s.label} value={s.value} testid={'secret-' + s.label.replace(/\W+/g, '-').toLowerCase()} />
      ))}
      {children}
      <form method="dialog" class="st-dialog-end">
        <button type="submit" class="st-primary">
          I have copied {secrets.length === 1 ? 'it' : 'them'}
        </button>
      </form>
    </dialog>
  );
}

// useAction runs one change at a time and keeps the server's error
// message (ApiError's) to show beside the control.
export function useAction(): {
  busy: boolean;
  error: Error | null;
  run: <T>(f: () => Promise<T>) => Promise<{ ok: true; value: T } | { ok: false }>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  return {
    busy,
    error,
    clear: () => setError(null),
    run: async <T,>(f: () => Promise<T>) => {
      setBusy(true);
      setError(null);
      try {
        const value = await f();
        return { ok: true as const, value };
      } catch (e) {
        setError(e instanceof Error ? e : new Error(String(e)));
        return { ok: false as const };
      } finally {
        setBusy(false);
      }
    },
  };
}

// ActionError is a change's failure, as the server said it.
export function ActionError({ error, testid }: { error: Error | null; testid?: string }) {
  if (!error) return null;
  return (
    <p class="failure st-error" role="alert" data-testid={testid}>
      {error.message}
    </p>
  );
}

// utc writes an RFC 3339 time as "2026-12-06 13:21 UTC" ("–" for none).
export function utc(iso: string | null | undefined): string {
  if (!iso) return '–';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '–';
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}
