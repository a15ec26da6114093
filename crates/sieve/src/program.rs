//! The compiled form the interpreter runs: validated, with every command, test, comparator,
//! match type and variable resolved to typed data, so no name is looked up at run time.
//! It is plain data (apart from pre-compiled regular expressions and host-provided custom
//! commands), serialisable with serde for the on-disk cache ([`crate::binary`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::diag::Pos;
use crate::interpret::custom::{CustomCommand, CustomTest};

/// A compiled script: the main program plus every script it includes.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Script {
    /// Name of the main script (for messages).
    pub name: String,
    /// The main program.
    pub main: Program,
    /// Included programs; `Op::Include` refers to them by index.
    pub includes: Vec<IncludedProgram>,
    /// Names of the `global` variables shared by all programs, indexed by `VarRef::Global`.
    pub globals: Vec<String>,
}

/// One included script.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct IncludedProgram {
    /// Personal or global location.
    pub location: IncludeLocation,
    /// Script name as written in `include`.
    pub name: String,
    /// Its program.
    pub program: Program,
}

/// Where `include` looks for a script (RFC 6609).
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncludeLocation {
    /// `:personal` (the default): the user's script storage.
    Personal,
    /// `:global`: the administrator's directory (`sieve_global`).
    Global,
}

/// One program: its commands and how many local variables it uses.
#[derive(Debug, Serialize, Deserialize, Clone, Default)]
pub struct Program {
    /// Top-level commands.
    pub ops: Vec<Op>,
    /// Number of local variable slots.
    pub local_vars: usize,
    /// Script name (for error messages).
    pub name: String,
}

/// A command with its position.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Op {
    /// Line of the command (for run-time errors and action sources).
    pub pos: Pos,
    /// What it does.
    pub kind: OpKind,
}

/// The commands.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub enum OpKind {
    /// `if`/`elsif`/`else` chain.
    If {
        /// Conditions and their blocks, in order.
        #[serde(deserialize_with = "crate::binary::serde_impls::nested")]
        branches: Vec<(Test, Vec<Op>)>,
        /// The `else` block.
        #[serde(deserialize_with = "crate::binary::serde_impls::nested")]
        otherwise: Option<Vec<Op>>,
    },
    /// `stop`
    Stop,
    /// `keep [:flags]`
    Keep {
        /// Explicit `:flags` (imap4flags).
        flags: Option<Vec<PStr>>,
    },
    /// `discard`
    Discard,
    /// `fileinto [:copy] [:create] [:flags] mailbox`
    FileInto {
        /// Target mailbox.
        mailbox: PStr,
        /// Explicit `:flags`.
        flags: Option<Vec<PStr>>,
        /// `:create` (mailbox).
        create: bool,
        /// `:copy`.
        copy: bool,
        /// `:specialuse` (special-use).
        special_use: Option<PStr>,
    },
    /// `redirect [:copy] [:list] address`
    Redirect {
        /// Target address.
        address: PStr,
        /// `:copy`.
        copy: bool,
    },
    /// `reject` / `ereject`
    Reject {
        /// Reason text.
        reason: PStr,
        /// True for `ereject`.
        ereject: bool,
    },
    /// `set [modifiers] name value`
    Set {
        /// Target variable.
        var: VarRef,
        /// Value.
        value: PStr,
        /// Modifiers, already sorted by precedence (highest first).
        modifiers: Vec<Modifier>,
    },
    /// `setflag`/`addflag`/`removeflag [variable] list`
    Flags {
        /// Which operation.
        action: FlagAction,
        /// Variable holding the flags (`None` = the internal flags variable).
        var: Option<VarRef>,
        /// Flags.
        flags: Vec<PStr>,
    },
    /// `vacation`
    Vacation(Box<VacationOp>),
    /// `include`
    Include {
        /// Index into `Script::includes`.
        index: usize,
        /// `:once`.
        once: bool,
        /// `:optional` and the script was not found (nothing to run).
        missing: bool,
    },
    /// `return` (include).
    Return,
    /// `error` (ihave): fail the script with this message.
    Error(PStr),
    /// `debug_log` (vnd.dovecot.debug).
    DebugLog(PStr),
    /// `report` (vnd.dovecot.report).
    Report(Box<ReportOp>),
    /// `foreverypart` (RFC 5703 §3).
    ForEveryPart {
        /// Loop body.
        #[serde(deserialize_with = "crate::binary::serde_impls::nested")]
        block: Vec<Op>,
    },
    /// `break`: leave the innermost loop plus this many enclosing ones.
    Break(usize),
    /// `extracttext [modifiers] [:first n] varname`.
    ExtractText {
        /// Target variable.
        var: VarRef,
        /// `:first` character count.
        first: Option<u64>,
        /// Modifiers in precedence order.
        modifiers: Vec<Modifier>,
    },
    /// `addheader [:last] name value`
    AddHeader {
        /// Field name.
        name: PStr,
        /// Field value.
        value: PStr,
        /// `:last`.
        last: bool,
    },
    /// `deleteheader [:index n [:last]] [match] name [values]`
    DeleteHeader {
        /// Field name.
        name: PStr,
        /// `:index`, with `:last`.
        index: Option<(u64, bool)>,
        /// Optional value patterns and how to match them.
        values: Option<(Keys, MatchSpec)>,
    },
    /// `notify` (enotify)
    Notify(Box<NotifyOp>),
    /// A command provided by an extension outside this crate (e.g. the testsuite).
    Custom(CustomOpCall),
}

/// A call of a host-provided command.
#[derive(Clone)]
pub struct CustomOpCall {
    /// The implementation.
    pub command: Arc<dyn CustomCommand>,
    /// Its validated arguments.
    pub args: CustomArgs,
}

impl std::fmt::Debug for CustomOpCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomOpCall").field("args", &self.args).finish()
    }
}

/// A call of a host-provided test.
#[derive(Clone)]
pub struct CustomTestCall {
    /// The implementation.
    pub test: Arc<dyn CustomTest>,
    /// Its validated arguments.
    pub args: CustomArgs,
}

impl std::fmt::Debug for CustomTestCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomTestCall").field("args", &self.args).finish()
    }
}

/// Validated arguments of a custom command/test, strings compiled (variables resolved).
#[derive(Debug, Serialize, Deserialize, Clone, Default)]
pub struct CustomArgs {
    /// Tags given, with their parameter.
    pub tags: Vec<(String, Option<CustomValue>)>,
    /// Positional arguments.
    pub positional: Vec<CustomValue>,
    /// Match type and comparator, when the signature accepts them.
    pub spec: Option<MatchSpec>,
    /// Block (for block commands such as the testsuite's `test`).
    #[serde(deserialize_with = "crate::binary::serde_impls::nested")]
    pub block: Vec<Op>,
}

/// One compiled argument value of a custom command.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub enum CustomValue {
    /// A string.
    Str(PStr),
    /// A string list.
    List(Vec<PStr>),
    /// A number.
    Number(u64),
}

/// `setflag`, `addflag`, `removeflag`.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum FlagAction {
    /// Replace.
    Set,
    /// Add.
    Add,
    /// Remove.
    Remove,
}

/// `set` modifiers (RFC 5229 §4.1), `:encodeurl` from enotify.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Modifier {
    /// `:lower`
    Lower,
    /// `:upper`
    Upper,
    /// `:lowerfirst`
    LowerFirst,
    /// `:upperfirst`
    UpperFirst,
    /// `:quotewildcard`
    QuoteWildcard,
    /// `:quoteregex` (regex)
    QuoteRegex,
    /// `:encodeurl` (enotify)
    EncodeUrl,
    /// `:length`
    Length,
}

impl Modifier {
    /// RFC 5229 precedence: higher runs first.
    pub fn precedence(self) -> u8 {
        match self {
            Modifier::Lower | Modifier::Upper => 40,
            Modifier::LowerFirst | Modifier::UpperFirst => 30,
            Modifier::QuoteWildcard | Modifier::QuoteRegex | Modifier::EncodeUrl => 20,
            Modifier::Length => 10,
        }
    }
}

/// The vacation command's arguments.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct VacationOp {
    /// Period in seconds, already clamped to the configured limits.
    pub seconds: u64,
    /// `:subject`.
    pub subject: Option<PStr>,
    /// `:from`.
    pub from: Option<PStr>,
    /// `:addresses`.
    pub addresses: Vec<PStr>,
    /// `:mime`.
    pub mime: bool,
    /// `:handle`.
    pub handle: Option<PStr>,
    /// Reason (body).
    pub reason: PStr,
}

/// The report command's arguments (vnd.dovecot.report).
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct ReportOp {
    /// Feedback type (`abuse`, ...).
    pub feedback_type: PStr,
    /// Human-readable text.
    pub message: PStr,
    /// Where to send the report.
    pub address: PStr,
    /// `:headers_only`: attach only the header of the message.
    pub headers_only: bool,
}

/// The notify command's arguments (RFC 5435).
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct NotifyOp {
    /// Method URI.
    pub method: PStr,
    /// `:from`.
    pub from: Option<PStr>,
    /// `:importance`.
    pub importance: Option<PStr>,
    /// `:options`.
    pub options: Vec<PStr>,
    /// `:message`.
    pub message: Option<PStr>,
}

/// A test.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub enum Test {
    /// `true`
    True,
    /// `false`
    False,
    /// `not`
    Not(#[serde(deserialize_with = "crate::binary::serde_impls::nested")] Box<Test>),
    /// `anyof`
    AnyOf(#[serde(deserialize_with = "crate::binary::serde_impls::nested")] Vec<Test>),
    /// `allof`
    AllOf(#[serde(deserialize_with = "crate::binary::serde_impls::nested")] Vec<Test>),
    /// `exists` (`:mime`/`:anychild` with the mime extension)
    Exists {
        /// Header names.
        names: Vec<PStr>,
        /// MIME part selection.
        mime: Option<MimeOpts>,
    },
    /// `size :over|:under n`
    Size {
        /// True for `:over`.
        over: bool,
        /// The limit.
        limit: u64,
    },
    /// `header`
    Header {
        /// Header names.
        names: Vec<PStr>,
        /// Keys.
        keys: Keys,
        /// Match type and comparator.
        spec: MatchSpec,
        /// `:index` (index extension).
        index: Option<(u64, bool)>,
        /// MIME part selection (mime extension).
        mime: Option<MimeOpts>,
    },
    /// `address`
    Address {
        /// Header names.
        headers: Vec<PStr>,
        /// Keys.
        keys: Keys,
        /// Match type and comparator.
        spec: MatchSpec,
        /// Address part.
        part: AddressPart,
        /// `:index`.
        index: Option<(u64, bool)>,
        /// MIME part selection (mime extension).
        mime: Option<MimeOpts>,
    },
    /// `envelope`
    Envelope {
        /// Envelope parts (`from`, `to`, `auth`, ...), validated.
        parts: Vec<PStr>,
        /// Keys.
        keys: Keys,
        /// Match type and comparator.
        spec: MatchSpec,
        /// Address part.
        part: AddressPart,
    },
    /// `string` (variables)
    String {
        /// Source strings.
        sources: Vec<PStr>,
        /// Keys.
        keys: Keys,
        /// Match type and comparator.
        spec: MatchSpec,
    },
    /// `hasflag` (imap4flags)
    HasFlag {
        /// Variables to look at (`None` = internal flags).
        vars: Option<Vec<VarRef>>,
        /// Keys.
        keys: Keys,
        /// Match type and comparator.
        spec: MatchSpec,
    },
    /// `body` (RFC 5173)
    Body {
        /// Transform.
        transform: BodyTransform,
        /// Keys.
        keys: Keys,
        /// Match type and comparator.
        spec: MatchSpec,
    },
    /// `mailboxexists`
    MailboxExists(Vec<PStr>),
    /// `environment`
    Environment {
        /// Item name.
        name: PStr,
        /// Keys.
        keys: Keys,
        /// Match type and comparator.
        spec: MatchSpec,
    },
    /// `date` / `currentdate` (RFC 5260)
    Date(Box<DateTest>),
    /// `ihave`: whether all capabilities were available at compile time.
    Ihave(bool),
    /// `valid_notify_method`
    ValidNotifyMethod(Vec<PStr>),
    /// `specialuse_exists` (special-use)
    SpecialUseExists {
        /// Mailbox (`None` = any mailbox).
        mailbox: Option<PStr>,
        /// Special-use flags that must all be present.
        flags: Vec<PStr>,
    },
    /// `metadata` / `servermetadata`
    Metadata {
        /// Mailbox (`None` = server annotation).
        mailbox: Option<PStr>,
        /// Annotation name.
        annotation: PStr,
        /// Keys.
        keys: Keys,
        /// Match type and comparator.
        spec: MatchSpec,
    },
    /// `metadataexists` / `servermetadataexists`
    MetadataExists {
        /// Mailbox (`None` = server annotations).
        mailbox: Option<PStr>,
        /// Annotation names that must all exist.
        annotations: Vec<PStr>,
    },
    /// `notify_method_capability`
    NotifyMethodCapability {
        /// Notification URI.
        uri: PStr,
        /// Capability name.
        capability: PStr,
        /// Keys.
        keys: Keys,
        /// Match type and comparator.
        spec: MatchSpec,
    },
    /// `duplicate` (RFC 7352)
    Duplicate(Box<DuplicateTest>),
    /// `spamtest` / `virustest`
    Score(Box<ScoreTest>),
    /// A test provided by an extension outside this crate.
    Custom(CustomTestCall),
}

/// `:mime` options of header/address/exists (RFC 5703 §4).
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct MimeOpts {
    /// `:anychild`: the current part and all parts below it.
    pub anychild: bool,
    /// Which piece of a Content-Type-like value to test.
    pub option: MimeOption,
}

/// `:type`, `:subtype`, `:contenttype`, `:param`.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub enum MimeOption {
    /// The whole value.
    None,
    /// `:type`
    Type,
    /// `:subtype`
    Subtype,
    /// `:contenttype`
    ContentType,
    /// `:param names`
    Param(Vec<PStr>),
}

/// `date`/`currentdate` arguments.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct DateTest {
    /// Header name (`None` = `currentdate`).
    pub header: Option<PStr>,
    /// `:zone` (`None` = keep the original zone / local), `:originalzone` = `Some(None)`.
    pub zone: Option<Option<PStr>>,
    /// Date part name, lower case.
    pub part: String,
    /// Keys.
    pub keys: Keys,
    /// Match type and comparator.
    pub spec: MatchSpec,
    /// `:index`.
    pub index: Option<(u64, bool)>,
}

/// `duplicate` arguments.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct DuplicateTest {
    /// `:handle`.
    pub handle: Option<PStr>,
    /// `:header` name, or `:uniqueid` value; `None` = Message-ID.
    pub header: Option<PStr>,
    /// `:uniqueid`.
    pub unique_id: Option<PStr>,
    /// `:seconds`/`:days` converted to seconds.
    pub seconds: Option<u64>,
    /// `:last`.
    pub last: bool,
}

/// `spamtest`/`virustest` arguments.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct ScoreTest {
    /// True for virustest.
    pub virus: bool,
    /// `:percent` (spamtestplus).
    pub percent: bool,
    /// Keys.
    pub keys: Keys,
    /// Match type and comparator.
    pub spec: MatchSpec,
}

/// Body transform (RFC 5173 §5).
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub enum BodyTransform {
    /// `:raw`
    Raw,
    /// `:content` types (lower case).
    Content(Vec<PStr>),
    /// `:text` (the default).
    Text,
}

/// Keys of a match, with regexes compiled at compile time when they are constant.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Keys {
    /// Key strings.
    pub list: Vec<PStr>,
    /// Pre-compiled regexes (`:regex` with constant keys), same order as `list`. Cached as
    /// their pattern strings and rebuilt when loaded.
    #[serde(with = "crate::binary::serde_impls::regexes")]
    pub regexes: Option<Vec<regex::Regex>>,
}

/// Comparators (RFC 4790).
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    /// `i;octet`
    Octet,
    /// `i;ascii-casemap` (the default)
    AsciiCasemap,
    /// `i;ascii-numeric`
    AsciiNumeric,
}

/// Relational operators (RFC 5231).
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
    /// `eq`
    Eq,
    /// `ne`
    Ne,
}

/// Match types.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    /// `:is` (the default)
    Is,
    /// `:contains`
    Contains,
    /// `:matches`
    Matches,
    /// `:regex`
    Regex,
    /// `:count rel`
    Count(Relation),
    /// `:value rel`
    Value(Relation),
}

/// Match type and comparator of one test.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
pub struct MatchSpec {
    /// Match type.
    pub match_type: MatchType,
    /// Comparator.
    pub comparator: Comparator,
}

impl Default for MatchSpec {
    fn default() -> Self {
        MatchSpec { match_type: MatchType::Is, comparator: Comparator::AsciiCasemap }
    }
}

/// Address parts (RFC 5228 §2.7.4, RFC 5233).
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressPart {
    /// `:all` (the default)
    #[default]
    All,
    /// `:localpart`
    LocalPart,
    /// `:domain`
    Domain,
    /// `:user` (subaddress)
    User,
    /// `:detail` (subaddress)
    Detail,
}

/// A string in the program: constant, or a template with variable references.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub enum PStr {
    /// A constant.
    Lit(String),
    /// Pieces to concatenate at run time.
    Template(Vec<Part>),
}

impl PStr {
    /// The constant value, if the string has no variable references.
    pub fn as_literal(&self) -> Option<&str> {
        match self {
            PStr::Lit(s) => Some(s),
            PStr::Template(_) => None,
        }
    }
}

/// One piece of a template string.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Lit(String),
    /// `${name}`
    Var(VarRef),
    /// `${N}` match variable.
    Match(usize),
}

/// A resolved variable.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub enum VarRef {
    /// Local variable slot of the current program.
    Local(usize),
    /// Global variable slot (`Script::globals`).
    Global(usize),
    /// `${env.NAME}` (vnd.dovecot.environment), read-only.
    Env(String),
    /// A namespace the host answers (e.g. `tst.path` of the testsuite), read-only.
    Host(String),
}
