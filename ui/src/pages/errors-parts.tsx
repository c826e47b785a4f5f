// What the error list and a group's page share: the group's shape, its
// statuses and badges, who may change them, and how.
import { ApiError, send } from '../api';
import { useSession } from '../ui';

export interface Group {
  id: number;
  title: string;
  culprit: string;
  level: string;
  status: 'unresolved' | 'resolved' | 'ignored';
  count: number;
  users: number;
  firstSeen: string;
  lastSeen: string;
  fingerprint: string;
  regressed: boolean;
}

export const STATUSES = ['unresolved', 'resolved', 'ignored'] as const;

// canChange says whether the session may change a group's status (admin
// keys; a root session acts as the chosen project's admin).
export function useCanChange(): boolean {
  const s = useSession();
  return s.kind === 'admin' || s.kind === 'root';
}

export function cap(s: string) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

// Badges say a group's level, status and regression.
export function Badges({ g }: { g: Pick<Group, 'level' | 'status' | 'regressed'> }) {
  return (
    <>
      <span class={'badge ' + g.level}>{g.level}</span>
      {g.regressed && g.status === 'unresolved' && (
        <span class="badge er-regressed" title="A resolved group that came back in a newer release">
          regressed
        </span>
      )}
      {g.status !== 'unresolved' && <span class={'badge er-' + g.status}>{g.status}</span>}
    </>
  );
}

// changeStatus sends PATCH /api/v1/error-groups/{id} for each group.
export async function changeStatus(ids: number[], status: string): Promise<void> {
  const errs: string[] = [];
  for (const id of ids) {
    try {
      await send('PATCH', '/api/v1/error-groups/' + id, { status });
    } catch (e) {
      errs.push('#' + id + ': ' + (e instanceof ApiError ? e.message : String(e)));
    }
  }
  if (errs.length) throw new Error('Status not changed for ' + errs.join('; '));
}
