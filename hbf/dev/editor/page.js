// The page: its elements, and the dev token, from the URL fragment (never
// sent to the server) or the login form.

export const TOKEN_KEY = 'hbf-dev-token'
export const $ = (id) => document.getElementById(id)

export function takeTokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1))
  const token = params.get('token')
  if (token !== null) {
    sessionStorage.setItem(TOKEN_KEY, token)
    // Out of the address bar, the history and any bookmark.
    history.replaceState(null, '', location.pathname + location.search)
  }
}

export const token = () => sessionStorage.getItem(TOKEN_KEY) ?? ''

export function showLogin(message = '') {
  $('app').hidden = true
  $('login').hidden = false
  $('login-error').textContent = message
  $('login-token').value = ''
  $('login-token').focus()
}
