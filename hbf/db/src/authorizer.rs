//! The SQLite authorizer of a pod's connection ([`crate::UserDb`]): what each
//! kind of statement may do, decided when the statement is prepared (a
//! trigger's body included, in the statement that fires it).
//!
//! The rule is an allow-list where it can be: pragmas from a read list,
//! virtual tables from a module list, schema changes only inside
//! [`crate::UserDb`]'s checking savepoint, transactions only through its
//! `transaction(fn)`; an action this SQLite knows and the list does not is
//! refused.

use rusqlite::hooks::{AuthAction, Authorization};

use crate::pod_schema::is_replicator_name;
use crate::pod_schema::{is_platform_name, is_sqlite_name};

/// Pragmas a pod may run: reading settings and describing its schema. Any
/// other pragma, and any of these with a value that is not a name to
/// describe, is refused.
const PRAGMAS_READ: &[&str] = &[
    "application_id",
    "auto_vacuum",
    "busy_timeout",
    "cache_size",
    "collation_list",
    "data_version",
    "database_list",
    "encoding",
    "foreign_keys",
    "freelist_count",
    "function_list",
    "journal_mode",
    "module_list",
    "page_count",
    "page_size",
    "pragma_list",
    "schema_version",
    "synchronous",
    "user_version",
];
/// Pragmas that describe a table or an index, whose value is its name.
const PRAGMAS_DESCRIBE: &[&str] = &[
    "foreign_key_check",
    "foreign_key_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "table_info",
    "table_list",
    "table_xinfo",
];
/// Functions a pod may not call.
const FUNCTIONS_DENIED: &[&str] = &["load_extension", "fts3_tokenizer"];
/// Virtual table modules a pod may create tables with.
const VTABLE_MODULES: &[&str] = &["fts3", "fts4", "fts5", "rtree", "rtree_i32"];

/// Whether the authorizer lets a pod's statement do `action`. `internal`: this
/// module's own transaction statements; `schema_change`: a schema statement
/// inside its checking savepoint.
pub(crate) fn authorize(
    action: &AuthAction<'_>,
    internal: bool,
    schema_change: bool,
) -> Authorization {
    let allow = |yes: bool| {
        if yes {
            Authorization::Allow
        } else {
            Authorization::Deny
        }
    };
    let pod_name = |name: &str| !is_platform_name(name) && !is_sqlite_name(name);
    let in_list = |list: &[&str], name: &str| list.iter().any(|n| n.eq_ignore_ascii_case(name));
    match *action {
        AuthAction::Insert { table_name }
        | AuthAction::Delete { table_name }
        | AuthAction::Update { table_name, .. } => allow(if is_platform_name(table_name) {
            false
        } else if table_name.eq_ignore_ascii_case("sqlite_sequence") {
            true // AUTOINCREMENT counters of the pod's own tables
        } else if is_sqlite_name(table_name) {
            // sqlite_schema (rows SQLite writes for a CREATE, an ALTER or a
            // DROP) and planner statistics: only inside a checked schema
            // statement; sqlite_temp_schema never (no TEMP objects).
            schema_change && !table_name.to_ascii_lowercase().starts_with("sqlite_temp")
        } else {
            true
        }),
        // ANALYZE creates the statistics tables it writes.
        AuthAction::CreateTable { table_name }
            if in_list(&["sqlite_stat1", "sqlite_stat4"], table_name) =>
        {
            allow(schema_change)
        }
        AuthAction::CreateTable { table_name }
        | AuthAction::DropTable { table_name }
        | AuthAction::AlterTable { table_name, .. } => allow(schema_change && pod_name(table_name)),
        AuthAction::CreateView { view_name } | AuthAction::DropView { view_name } => {
            allow(schema_change && pod_name(view_name))
        }
        AuthAction::CreateIndex {
            index_name,
            table_name,
        }
        | AuthAction::DropIndex {
            index_name,
            table_name,
        } => allow(
            schema_change
                && pod_name(table_name)
                // SQLite names the indexes of UNIQUE and PRIMARY KEY constraints.
                && (pod_name(index_name) || index_name.starts_with("sqlite_autoindex_")),
        ),
        AuthAction::CreateTrigger {
            trigger_name,
            table_name,
        }
        | AuthAction::DropTrigger {
            trigger_name,
            table_name,
        } => allow(schema_change && pod_name(trigger_name) && pod_name(table_name)),
        AuthAction::CreateVtable {
            table_name,
            module_name,
        }
        | AuthAction::DropVtable {
            table_name,
            module_name,
        } => allow(schema_change && pod_name(table_name) && in_list(VTABLE_MODULES, module_name)),
        AuthAction::CreateTempIndex { .. }
        | AuthAction::CreateTempTable { .. }
        | AuthAction::CreateTempTrigger { .. }
        | AuthAction::CreateTempView { .. }
        | AuthAction::DropTempIndex { .. }
        | AuthAction::DropTempTable { .. }
        | AuthAction::DropTempTrigger { .. }
        | AuthAction::DropTempView { .. } => Authorization::Deny,
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => Authorization::Deny,
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => allow(match pragma_value {
            None => in_list(PRAGMAS_READ, pragma_name) || in_list(PRAGMAS_DESCRIBE, pragma_name),
            Some(_) => in_list(PRAGMAS_DESCRIBE, pragma_name),
        }),
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => allow(internal),
        // Planner statistics of platform tables are the platform's: an
        // ANALYZE skips those tables rather than failing.
        AuthAction::Analyze { table_name } if !pod_name(table_name) => Authorization::Ignore,
        AuthAction::Analyze { .. } => allow(schema_change),
        AuthAction::Reindex { index_name } => allow(pod_name(index_name)),
        AuthAction::Function { function_name } => allow(!in_list(FUNCTIONS_DENIED, function_name)),
        // The replicator's state is not the pod's to see (unlike `hbf_*`).
        AuthAction::Read { table_name, .. } if is_replicator_name(table_name) => {
            Authorization::Deny
        }
        AuthAction::Read { .. } | AuthAction::Select | AuthAction::Recursive => {
            Authorization::Allow
        }
        // An action this list does not know (a newer SQLite): refused.
        _ => Authorization::Deny,
    }
}
