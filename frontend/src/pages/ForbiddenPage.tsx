import { Link } from '../router';

export function ForbiddenPage({ what }: { what: string }) {
  return (
    <section className="page">
      <h1>Not available</h1>
      <p>
        Only administrators can see {what}. <Link to="/apps">Go to the apps</Link>.
      </p>
    </section>
  );
}
