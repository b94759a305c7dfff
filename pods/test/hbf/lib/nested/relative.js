// Imports its parent directory with `../`, for the /t/import-relative route.
import { greeting } from '../esm-static.js'

export const fromParent = greeting.message
