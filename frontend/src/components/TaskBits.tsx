import { useCallback, useState } from 'react';
import { useMutation } from 'urql';
import type { TaskState } from '../gql/graphql';
import { cancelTaskMutationDocument, firstError, stateLabelOf, taskTone } from '../tasks';

export function TaskStatePill({ state }: { state: TaskState }) {
  return (
    <span className={`pill pill-${taskTone(state)}`} data-testid="task-state">
      {stateLabelOf(state)}
    </span>
  );
}

interface ProgressBarProps {
  percent: number;
  state: TaskState;
  label: string;
  large?: boolean;
}

export function ProgressBar({ percent, state, label, large }: ProgressBarProps) {
  const value = Math.max(0, Math.min(100, Math.round(percent)));
  return (
    <div className={`progress${large ? ' progress-large' : ''}`}>
      <div
        className={`progress-track progress-${taskTone(state)}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={value}
      >
        <div className="progress-fill" style={{ width: `${value}%` }} />
      </div>
      <span className="progress-value">{value}%</span>
    </div>
  );
}

/**
 * Cancelling tasks: which ones this view has asked to cancel (the abort command is
 * enqueued, the task not yet finished), and the last failure.
 */
export function useCancelTasks(initial: Iterable<string> = []) {
  const [, cancelTask] = useMutation(cancelTaskMutationDocument);
  const [cancelling, setCancelling] = useState<ReadonlySet<string>>(() => new Set(initial));
  const [error, setError] = useState<string | null>(null);

  const mark = useCallback((ids: Iterable<string>) => {
    setCancelling((prev) => {
      const next = new Set(prev);
      for (const id of ids) next.add(id);
      return next.size === prev.size ? prev : next;
    });
  }, []);

  const cancel = useCallback(
    async (id: string) => {
      setError(null);
      mark([id]);
      const result = await cancelTask({ id });
      if (!result.data?.cancelTask) {
        setCancelling((prev) => {
          const next = new Set(prev);
          next.delete(id);
          return next;
        });
        setError(result.error ? `Could not cancel the task: ${firstError(result.error).message}` : 'Could not cancel the task.');
      }
    },
    [cancelTask, mark],
  );

  return { cancelling, cancel, mark, error, clearError: () => setError(null) };
}

interface CancelButtonProps {
  cancelling: boolean;
  onCancel: () => void;
  small?: boolean;
}

export function CancelButton({ cancelling, onCancel, small }: CancelButtonProps) {
  return (
    <button
      type="button"
      className={`button danger${small ? ' small' : ''}`}
      onClick={onCancel}
      disabled={cancelling}
      aria-busy={cancelling || undefined}
    >
      {cancelling ? 'Cancelling…' : 'Cancel'}
    </button>
  );
}
