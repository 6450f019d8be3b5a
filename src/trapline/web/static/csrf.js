// The page's CSRF token, sent with every state-changing request a script makes.
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}
