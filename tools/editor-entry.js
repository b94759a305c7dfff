// Entry for third_party/codemirror/codemirror.mjs (bundled by tools/vendor-editor.sh).
// Re-exports the CodeMirror 6 pieces the /__dev/ editor uses: the state and view
// core, the basicSetup/minimalSetup bundles and their parts, keymaps and history,
// the language modes (JavaScript with TypeScript and JSX, CSS, HTML, JSON,
// Markdown), search, autocompletion, lint hooks and the merge views.
// Add a name here (and re-run the script) when the editor needs more.

export { basicSetup, minimalSetup } from 'codemirror'

export {
  EditorState, EditorSelection, Compartment, StateField, StateEffect, Transaction,
  Annotation, Facet, Prec, Text, ChangeSet, RangeSetBuilder
} from '@codemirror/state'

export {
  EditorView, ViewPlugin, Decoration, WidgetType, keymap, lineNumbers,
  highlightActiveLine, highlightActiveLineGutter, highlightSpecialChars,
  drawSelection, dropCursor, rectangularSelection, crosshairCursor, placeholder,
  showPanel, gutter, GutterMarker, hoverTooltip, showTooltip, tooltips
} from '@codemirror/view'

export {
  defaultKeymap, standardKeymap, historyKeymap, history, undo, redo,
  indentWithTab, indentMore, indentLess, selectAll, toggleComment
} from '@codemirror/commands'

export {
  syntaxHighlighting, defaultHighlightStyle, HighlightStyle, indentOnInput,
  bracketMatching, foldGutter, foldKeymap, indentUnit, LanguageSupport,
  syntaxTree
} from '@codemirror/language'

export {
  search, searchKeymap, highlightSelectionMatches, openSearchPanel,
  closeSearchPanel, gotoLine
} from '@codemirror/search'

export {
  autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap
} from '@codemirror/autocomplete'

export {
  linter, lintGutter, lintKeymap, setDiagnostics, forceLinting, diagnosticCount
} from '@codemirror/lint'

export {
  MergeView, unifiedMergeView, getChunks, acceptChunk, rejectChunk,
  goToNextChunk, goToPreviousChunk, getOriginalDoc, updateOriginalDoc,
  originalDocChangeEffect, diff, Chunk
} from '@codemirror/merge'

export {
  javascript, javascriptLanguage, typescriptLanguage, jsxLanguage, tsxLanguage
} from '@codemirror/lang-javascript'
export { css, cssLanguage } from '@codemirror/lang-css'
export { html, htmlLanguage } from '@codemirror/lang-html'
export { json, jsonLanguage, jsonParseLinter } from '@codemirror/lang-json'
export { markdown, markdownLanguage } from '@codemirror/lang-markdown'
