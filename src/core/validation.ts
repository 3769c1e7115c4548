/**
 * kaiju_auth's input rules (UserService.validate_*), with our additions: a password must fit in
 * bcrypt's 72-byte input, because bcrypt silently ignores everything after it; a new username or
 * email is NFKC-normalised first (`Ａdmin` is `Admin`), and the rules apply to that form; one
 * that NFKC would make look different (`ϲ`, a look-alike of c, becomes `ς`) is refused.
 */
import { authError } from '../errors.js';
import { keepsItsLook, normalizeIdentity } from './lookalike.js';

export const USERNAME_MIN = 4;
export const USERNAME_MAX = 32;
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;
export const PASSWORD_MAX_BYTES = 72;

/** Python's `\w` in a str pattern: Unicode letters and numbers, and `_`. */
const USERNAME_RE = new RegExp(`^[\\p{L}\\p{N}_-]{${USERNAME_MIN},${USERNAME_MAX}}$`, 'u');
const EMAIL_RE = /^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$/;
/** Python's `.` is anything but `\n`; `\d` any Unicode decimal digit. */
const PASSWORD_RE = new RegExp(`^(?=[^\\n]*\\p{Nd})[^\\n]{${PASSWORD_MIN},${PASSWORD_MAX}}$`, 'u');
/** Permission and group ids: kaiju has no rule; ours keeps them printable and usable as CLI words. */
const ID_RE = /^[^\s\p{C},]{1,200}$/u;

/** The username in the form it is stored in (NFKC), or a coded error. */
export function validateUsername(username: string): string {
  const name = typeof username === 'string' ? normalizeIdentity(username) : username;
  if (typeof name !== 'string' || !USERNAME_RE.test(name) || !keepsItsLook(username, name)) {
    throw authError(
      'auth.user.invalid_username',
      `username must be ${USERNAME_MIN} to ${USERNAME_MAX} characters: letters, digits, _ and -`,
      { field: 'username', min_characters: USERNAME_MIN, max_characters: USERNAME_MAX },
    );
  }
  return name;
}

/** The email in the form it is stored in (NFKC: `ａ@example.com` is `a@example.com`), or a coded error. */
export function validateEmail(email: string): string {
  const address = typeof email === 'string' ? normalizeIdentity(email) : email;
  if (typeof address !== 'string' || !EMAIL_RE.test(address) || !keepsItsLook(email, address)) {
    throw authError('auth.user.invalid_email', 'enter a valid e-mail address', { field: 'email' });
  }
  return address;
}

/**
 * Returns the password as kaiju stores it: stripped of surrounding spaces, tabs and newlines.
 * Never puts the password itself in the error.
 */
export function validatePassword(password: string): string {
  if (typeof password !== 'string') {
    throw authError('auth.user.invalid_password', 'password must be a string', { field: 'password' });
  }
  const stripped = password.replace(/^[ \n\t\r]+|[ \n\t\r]+$/g, '');
  if (!PASSWORD_RE.test(stripped)) {
    throw authError(
      'auth.user.invalid_password',
      `password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters with at least one digit`,
      { field: 'password', min_characters: PASSWORD_MIN, max_characters: PASSWORD_MAX },
    );
  }
  const bytes = Buffer.byteLength(stripped, 'utf8');
  if (bytes > PASSWORD_MAX_BYTES) {
    throw authError(
      'auth.user.invalid_password',
      `password is ${bytes} bytes in UTF-8; at most ${PASSWORD_MAX_BYTES} are allowed (bcrypt ignores the rest)`,
      { field: 'password', max_bytes: PASSWORD_MAX_BYTES },
    );
  }
  return stripped;
}

function validateId(kind: 'group' | 'permission', id: string): string {
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw authError(
      kind === 'group' ? 'auth.group.invalid_id' : 'auth.permission.invalid_id',
      `${kind} id must be 1 to 200 characters without spaces, commas or control characters`,
      { field: 'id', value: typeof id === 'string' ? id.slice(0, 200) : null },
    );
  }
  return id;
}

export const validateGroupId = (id: string) => validateId('group', id);
export const validatePermissionId = (id: string) => validateId('permission', id);

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A username can never look like a UUID (36 characters > 32), so the two never collide. */
export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}
