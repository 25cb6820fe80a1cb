import { useQuery } from 'urql';
import { graphql } from '../gql';
import { errorMessage, isUnauthenticated } from '../client';
import { formatBytes, formatPercent, stateLabel, stateTone } from '../format';

const appsQueryDocument = graphql(`
  query Apps($first: Int!) {
    apps(first: $first) {
      totalCount
      edges {
        node {
          id
          location
          image
          installationState
          runState
          cpuQuota
          memoryLimit
          notes
        }
      }
    }
  }
`);

const PAGE_SIZE = 50;

function StatePill({ value }: { value: string | null | undefined }) {
  if (!value) return <span className="muted">—</span>;
  return <span className={`pill pill-${stateTone(value)}`}>{stateLabel(value)}</span>;
}

export function AppsPage() {
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: appsQueryDocument,
    variables: { first: PAGE_SIZE },
    requestPolicy: 'cache-and-network',
  });

  const apps = data?.apps.edges?.flatMap((edge) => (edge?.node ? [edge.node] : [])) ?? [];
  const total = data?.apps.totalCount ?? 0;
  const showNotes = apps.some((app) => app.notes != null);

  return (
    <section className="page" aria-labelledby="apps-title">
      <div className="page-header">
        <h1 id="apps-title">
          Apps {data && <span className="count">{total}</span>}
        </h1>
        <button
          type="button"
          className="button"
          onClick={() => reexecute({ requestPolicy: 'network-only' })}
          disabled={fetching}
        >
          {fetching && data ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>

      {error && !isUnauthenticated(error) && (
        <p className="error" role="alert">
          Could not load the apps: {errorMessage(error)}
        </p>
      )}

      {!data && fetching && (
        <p className="muted" role="status">
          Loading apps…
        </p>
      )}

      {data && total === 0 && (
        <div className="empty">
          <p className="empty-title">No apps installed yet</p>
          <p className="muted">Apps you install will show up here.</p>
        </div>
      )}

      {data && total > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Location</th>
                <th scope="col">Image</th>
                <th scope="col">Installation</th>
                <th scope="col">Run state</th>
                <th scope="col" className="num">
                  CPU
                </th>
                <th scope="col" className="num">
                  Memory
                </th>
                {showNotes && <th scope="col">Notes</th>}
              </tr>
            </thead>
            <tbody>
              {apps.map((app) => (
                <tr key={app.id}>
                  <th scope="row" className="app-location">
                    {app.location || <span className="muted">—</span>}
                  </th>
                  <td className="mono">{app.image}</td>
                  <td>
                    <StatePill value={app.installationState} />
                  </td>
                  <td>
                    <StatePill value={app.runState} />
                  </td>
                  <td className="num">{formatPercent(app.cpuQuota)}</td>
                  <td className="num">{formatBytes(app.memoryLimit)}</td>
                  {showNotes && <td className="notes">{app.notes}</td>}
                </tr>
              ))}
            </tbody>
          </table>
          {apps.length < total && (
            <p className="muted table-foot">
              Showing the first {apps.length} of {total} apps.
            </p>
          )}
        </div>
      )}
    </section>
  );
}
