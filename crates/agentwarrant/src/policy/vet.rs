//! Vetting of policy modules for the RVM: a module runs there only when nothing in it can raise.
//!
//! regorus's RVM treats an error inside a rule body as "this body does not match", where the
//! interpreter fails the evaluation (a `policy_error` refusal). On a vetted module the two cannot
//! differ, so it gets the faster RVM and still fails closed. The check is conservative: a
//! construct it cannot prove harmless is refused with the file, the line, the construct and what
//! to write instead. What it accepts (docs/policy.md, "Custom rules on the RVM"):
//!
//! - partial set rules (`deny contains ... if`), complete rules whose value is a constant, and
//!   complete rules with one definition, no `else` and no iteration (they cannot conflict);
//! - `==`, `!=`, `in`, references, literals, array and set comprehensions, `some`, `every`, `not`;
//! - `<`, `<=`, `>`, `>=` between two known numbers or two known strings, arithmetic on known
//!   numbers (a divisor only as a non-zero literal), `|` and `&` on known sets;
//! - the builtins in [`builtin`], each with arguments of known types.
//!
//! A value's type is known from a literal, from a check earlier in the same body
//! (`is_number(input.call.args.amount)`, `input.call.tool == "refund"`), from an assignment of a
//! known value, or from the input document's shape (the strings the guard always sets).

use std::collections::{BTreeMap, HashMap};

use regorus::unstable::{
    ArithOp, AssignOp, BinOp, BoolOp, Expr, Literal, Module, Query, Ref, Rule, RuleHead, Span,
};

/// Why a module cannot run on the RVM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unvetted {
    /// The module's path.
    pub(crate) path: String,
    /// The 1-based line of the construct.
    pub(crate) line: u32,
    /// What the line says and why it can raise, with what to write instead.
    pub(crate) message: String,
}

impl std::fmt::Display for Unvetted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.message)
    }
}

type Vetted<T> = Result<T, Unvetted>;

/// What a value is known to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Any,
    Number,
    String,
    Bool,
    Null,
    Array,
    Set,
    Object,
}

/// What an argument must be for a builtin not to raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Any,
    Number,
    String,
    Array,
    Object,
    /// A string, an array, a set or an object.
    Countable,
}

impl Need {
    fn accepts(self, ty: Ty) -> bool {
        match self {
            Need::Any => true,
            Need::Number => ty == Ty::Number,
            Need::String => ty == Ty::String,
            Need::Array => ty == Ty::Array,
            Need::Object => ty == Ty::Object,
            Need::Countable => matches!(ty, Ty::String | Ty::Array | Ty::Set | Ty::Object),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Need::Any => "any value",
            Need::Number => "a number (check it with `is_number`)",
            Need::String => "a string (check it with `is_string`)",
            Need::Array => "an array (check it with `is_array`)",
            Need::Object => "an object (check it with `is_object`)",
            Need::Countable => "a string or a collection (check it with `is_string`, `is_array`, `is_set` or `is_object`)",
        }
    }
}

/// The builtins a vetted module may call: each never raises when its arguments have the types
/// given. Everything else (user functions, `to_number`, `net.*`, ...) can raise.
fn builtin(name: &str) -> Option<(&'static [Need], Ty)> {
    use Need as N;
    Some(match name {
        "is_string" | "is_number" | "is_boolean" | "is_array" | "is_set" | "is_object"
        | "is_null" => (&[N::Any], Ty::Bool),
        "type_name" => (&[N::Any], Ty::String),
        "count" => (&[N::Countable], Ty::Number),
        "startswith" | "endswith" | "contains" => (&[N::String, N::String], Ty::Bool),
        "indexof" => (&[N::String, N::String], Ty::Number),
        "lower" | "upper" | "trim_space" => (&[N::String], Ty::String),
        "trim" | "trim_left" | "trim_right" | "trim_prefix" | "trim_suffix" => {
            (&[N::String, N::String], Ty::String)
        }
        "split" => (&[N::String, N::String], Ty::Array),
        "replace" => (&[N::String, N::String, N::String], Ty::String),
        "sprintf" => (&[N::String, N::Array], Ty::String),
        "regex.match" => (&[N::String, N::String], Ty::Bool),
        "object.get" => (&[N::Object, N::Any, N::Any], Ty::Any),
        "object.keys" => (&[N::Object], Ty::Set),
        "array.concat" => (&[N::Array, N::Array], Ty::Array),
        "abs" | "round" | "ceil" | "floor" => (&[N::Number], Ty::Number),
        _ => return None,
    })
}

/// Members of the input document that the guard always sets, and their types.
fn input_shape(key: &str) -> Ty {
    match key {
        "input.version"
        | "input.call.tool"
        | "input.identity.id"
        | "input.identity.role"
        | "input.identity.owner"
        | "input.task.env" => Ty::String,
        "input.call.args" => Ty::Object,
        _ => Ty::Any,
    }
}

/// Vets every module of `modules` (`(path, parsed module, trusted)`); trusted modules (the
/// embedded bundle, vetted by its own tests on both evaluators) are only read for the names
/// they define. The first construct that can raise is returned.
pub(crate) fn vet(modules: &[(&str, &Module, bool)]) -> Vetted<()> {
    let mut trusted_names = std::collections::BTreeSet::new();
    let mut complete: BTreeMap<(String, String), Vec<Definition>> = BTreeMap::new();
    for &(path, module, trusted) in modules {
        let package = key(&module.package.refr).unwrap_or_default();
        if trusted {
            for rule in &module.policy {
                if let Some(name) = rule_name(rule) {
                    trusted_names.insert((package.clone(), name));
                }
            }
            continue;
        }
        if package == "agentwarrant_engine" {
            return Err(refusal(
                path,
                &module.package.span,
                "the package `agentwarrant_engine` is the engine's own",
            ));
        }
        for rule in &module.policy {
            if let Some((name, definition)) = vet_rule(path, rule)? {
                complete
                    .entry((package.clone(), name))
                    .or_default()
                    .push(definition);
            }
        }
    }
    for ((package, name), definitions) in &complete {
        let [first, rest @ ..] = definitions.as_slice() else {
            continue;
        };
        if trusted_names.contains(&(package.clone(), name.clone())) {
            return Err(refusal(
                &first.path,
                &first.span,
                &format!(
                    "`{name}` is also defined by the default bundle: two definitions of a \
                     complete rule can conflict; give the rule another name"
                ),
            ));
        }
        let agree =
            |other: &Definition| other.constant.is_some() && other.constant == first.constant;
        if let Some(other) = rest.iter().find(|other| !agree(other)) {
            return Err(refusal(
                &other.path,
                &other.span,
                &format!(
                    "`{name}` has definitions that can give different values, which conflict \
                     (the interpreter raises); make it a partial set (`{name} contains ...`) or \
                     give every definition the same constant value"
                ),
            ));
        }
    }
    Ok(())
}

/// One definition of a complete rule: where, and its value when that is a constant.
struct Definition {
    path: String,
    span: Span,
    constant: Option<String>,
}

fn refusal(path: &str, span: &Span, why: &str) -> Unvetted {
    let text = span.text().lines().next().unwrap_or_default().trim();
    Unvetted {
        path: path.to_owned(),
        line: span.line,
        message: format!("`{text}` cannot run on the RVM: {why}"),
    }
}

fn rule_name(rule: &Rule) -> Option<String> {
    match rule {
        Rule::Spec { head, .. } => match head {
            RuleHead::Compr { refr, .. }
            | RuleHead::Set { refr, .. }
            | RuleHead::Func { refr, .. } => root_name(refr),
        },
        Rule::Default { refr, .. } => root_name(refr),
    }
}

/// The first name of a rule's reference (`deny` of `deny`, `a` of `a.b[x]`).
fn root_name(refr: &Expr) -> Option<String> {
    match refr {
        Expr::Var { value, .. } => value.as_string().ok().map(|s| s.to_string()),
        Expr::RefDot { refr, .. } | Expr::RefBrack { refr, .. } => root_name(refr),
        _ => None,
    }
}

/// Vets one rule; a complete rule is returned with its definition for the conflict check.
fn vet_rule(path: &str, rule: &Rule) -> Vetted<Option<(String, Definition)>> {
    let (span, head, bodies) = match rule {
        Rule::Default { value, .. } => {
            Body::new(path).expr(value)?;
            return Ok(None);
        }
        Rule::Spec { span, head, bodies } => (span, head, bodies),
    };
    if let Some(body) = bodies.iter().find(|b| b.is_else || b.assign.is_some()) {
        return Err(refusal(
            path,
            &body.span,
            "`else` is not vetted; write the cases as separate rules with exclusive conditions",
        ));
    }
    match head {
        RuleHead::Func { .. } => Err(refusal(
            path,
            span,
            "a function can be called with arguments of any type and can give conflicting \
             values; inline its checks in the rule, or use a partial set rule",
        )),
        RuleHead::Set { key, .. } => {
            for query in bodies.iter().map(|b| &b.query) {
                let mut body = Body::new(path);
                body.query(query)?;
                if let Some(key) = key {
                    body.expr(key)?;
                }
            }
            if bodies.is_empty() {
                if let Some(key) = key {
                    Body::new(path).expr(key)?;
                }
            }
            Ok(None)
        }
        RuleHead::Compr { refr, assign, .. } => {
            if !matches!(**refr, Expr::Var { .. }) {
                return Err(refusal(
                    path,
                    span,
                    "a rule defined under a path (`a.b := ...`, `a[k] := ...`) can conflict \
                     on its keys; define a plain rule or a partial set",
                ));
            }
            let value = assign.as_ref().map(|a| &a.value);
            let constant = value.map_or(Some("true".to_owned()), |v| constant(v));
            for query in bodies.iter().map(|b| &b.query) {
                let mut body = Body::new(path);
                body.query(query)?;
                if let Some(value) = value {
                    body.expr(value)?;
                }
                if constant.is_none() && body.iterates {
                    return Err(refusal(
                        path,
                        span,
                        "a rule with a computed value whose body iterates can give several \
                         values, which conflict (the interpreter raises); make it a partial set \
                         (`name contains value if ...`)",
                    ));
                }
            }
            if bodies.is_empty() {
                if let Some(value) = value {
                    Body::new(path).expr(value)?;
                }
            }
            let name = root_name(refr).unwrap_or_default();
            Ok(Some((
                name,
                Definition {
                    path: path.to_owned(),
                    span: span.clone(),
                    constant,
                },
            )))
        }
    }
}

/// The canonical text of a constant value, `None` when `expr` is not a constant.
fn constant(expr: &Expr) -> Option<String> {
    match expr {
        Expr::String { value, .. }
        | Expr::RawString { value, .. }
        | Expr::Number { value, .. }
        | Expr::Bool { value, .. }
        | Expr::Null { value, .. } => Some(value.to_string()),
        Expr::Array { items, .. } | Expr::Set { items, .. } => {
            let items = items
                .iter()
                .map(|i| constant(i))
                .collect::<Option<Vec<_>>>()?;
            let (open, close) = match expr {
                Expr::Set { .. } => ("{", "}"),
                _ => ("[", "]"),
            };
            Some(format!("{open}{}{close}", items.join(",")))
        }
        _ => None,
    }
}

/// The dotted key of a variable or a reference with literal indexes (`input.call.args.to`).
fn key(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Var { value, .. } => value.as_string().ok().map(|s| s.to_string()),
        Expr::RefDot { refr, field, .. } => {
            Some(format!("{}.{}", key(refr)?, field.1.as_string().ok()?))
        }
        Expr::RefBrack { refr, index, .. } => match &**index {
            Expr::String { value, .. } | Expr::RawString { value, .. } => {
                Some(format!("{}.{}", key(refr)?, value.as_string().ok()?))
            }
            Expr::Number { value, .. } => Some(format!("{}[{value}]", key(refr)?)),
            _ => None,
        },
        _ => None,
    }
}

fn span_of(expr: &Expr) -> &Span {
    match expr {
        Expr::String { span, .. }
        | Expr::RawString { span, .. }
        | Expr::Number { span, .. }
        | Expr::Bool { span, .. }
        | Expr::Null { span, .. }
        | Expr::Var { span, .. }
        | Expr::Array { span, .. }
        | Expr::Set { span, .. }
        | Expr::Object { span, .. }
        | Expr::ArrayCompr { span, .. }
        | Expr::SetCompr { span, .. }
        | Expr::ObjectCompr { span, .. }
        | Expr::Call { span, .. }
        | Expr::UnaryExpr { span, .. }
        | Expr::RefDot { span, .. }
        | Expr::RefBrack { span, .. }
        | Expr::BinExpr { span, .. }
        | Expr::BoolExpr { span, .. }
        | Expr::ArithExpr { span, .. }
        | Expr::AssignExpr { span, .. }
        | Expr::Membership { span, .. } => span,
    }
}

/// The facts of one body, read statement by statement in order.
#[derive(Clone)]
struct Body<'a> {
    path: &'a str,
    known: HashMap<String, Ty>,
    /// Whether the body binds a variable by iteration (so it can succeed more than once).
    iterates: bool,
}

impl<'a> Body<'a> {
    fn new(path: &'a str) -> Self {
        Self {
            path,
            known: HashMap::new(),
            iterates: false,
        }
    }

    fn refuse<T>(&self, expr: &Expr, why: &str) -> Vetted<T> {
        Err(refusal(self.path, span_of(expr), why))
    }

    fn type_of_key(&self, key: &str) -> Ty {
        self.known
            .get(key)
            .copied()
            .unwrap_or_else(|| input_shape(key))
    }

    /// Forgets what was known of the variable `name` and of every reference rooted at it: a
    /// new binding of the name (`some`, `every`, `:=` in a nested query) starts unknown.
    fn forget(&mut self, name: &str) {
        self.known.retain(|key, _| {
            key.strip_prefix(name)
                .is_none_or(|rest| !(rest.is_empty() || rest.starts_with(['.', '['])))
        });
    }

    fn learn(&mut self, expr: &Expr, ty: Ty) {
        if ty != Ty::Any {
            if let Some(key) = key(expr) {
                self.known.insert(key, ty);
            }
        }
    }

    fn query(&mut self, query: &Query) -> Vetted<()> {
        for stmt in &query.stmts {
            if !stmt.with_mods.is_empty() {
                return Err(refusal(
                    self.path,
                    &stmt.span,
                    "`with` is not vetted; test the rule with scenarios instead",
                ));
            }
            match &stmt.literal {
                Literal::SomeVars { vars, .. } => {
                    for var in vars {
                        self.forget(var.text());
                    }
                    self.iterates = true;
                }
                Literal::SomeIn {
                    key,
                    value,
                    collection,
                    ..
                } => {
                    let ty = self.expr(collection)?;
                    if !matches!(ty, Ty::Array | Ty::Set | Ty::Object) {
                        return self.refuse(
                            collection,
                            "`some ... in` raises when the collection is not an array, a set or \
                             an object; check it first with `is_array`, `is_set` or `is_object`",
                        );
                    }
                    for bound in key.iter().chain([value]) {
                        if !matches!(**bound, Expr::Var { .. }) {
                            return self
                                .refuse(bound, "only variables can be bound by `some ... in`");
                        }
                        self.forget(&key_or_empty(bound));
                    }
                    self.iterates = true;
                }
                Literal::Expr { expr, .. } => {
                    self.expr(expr)?;
                    self.learn_from(expr);
                }
                Literal::NotExpr { expr, .. } => {
                    self.expr(expr)?;
                }
                Literal::Every {
                    key,
                    value,
                    domain,
                    query,
                    ..
                } => {
                    self.expr(domain)?;
                    let mut inner = self.clone();
                    for bound in key.iter().chain([value]) {
                        inner.forget(bound.text());
                    }
                    inner.query(query)?;
                }
            }
        }
        Ok(())
    }

    /// What a statement that held tells about its terms.
    fn learn_from(&mut self, expr: &Expr) {
        match expr {
            Expr::Call { fcn, params, .. } => {
                let ty = match key(fcn).as_deref() {
                    Some("is_string") => Ty::String,
                    Some("is_number") => Ty::Number,
                    Some("is_boolean") => Ty::Bool,
                    Some("is_array") => Ty::Array,
                    Some("is_set") => Ty::Set,
                    Some("is_object") => Ty::Object,
                    Some("is_null") => Ty::Null,
                    _ => return,
                };
                if let [param] = params.as_slice() {
                    self.learn(param, ty);
                }
            }
            Expr::BoolExpr {
                op: BoolOp::Eq,
                lhs,
                rhs,
                ..
            } => {
                let (left, right) = (literal_type(lhs), literal_type(rhs));
                if let Some(ty) = right {
                    self.learn(lhs, ty);
                }
                if let Some(ty) = left {
                    self.learn(rhs, ty);
                }
            }
            Expr::AssignExpr { lhs, rhs, .. } => {
                let ty = self.type_of(rhs);
                self.forget(&key_or_empty(lhs));
                self.learn(lhs, ty);
            }
            _ => {}
        }
    }

    /// The type of an expression already vetted.
    fn type_of(&self, expr: &Expr) -> Ty {
        let mut scratch = self.clone();
        scratch.expr(expr).unwrap_or(Ty::Any)
    }

    /// Vets an expression and returns what its value is known to be.
    fn expr(&mut self, expr: &Expr) -> Vetted<Ty> {
        Ok(match expr {
            Expr::String { .. } | Expr::RawString { .. } => Ty::String,
            Expr::Number { .. } => Ty::Number,
            Expr::Bool { .. } => Ty::Bool,
            Expr::Null { .. } => Ty::Null,
            Expr::Var { .. } => key(expr).map_or(Ty::Any, |k| self.type_of_key(&k)),
            Expr::Array { items, .. } => {
                for item in items {
                    self.expr(item)?;
                }
                Ty::Array
            }
            Expr::Set { items, .. } => {
                for item in items {
                    self.expr(item)?;
                }
                Ty::Set
            }
            Expr::Object { fields, .. } => {
                for (_, k, v) in fields {
                    if constant(k).is_none() {
                        return self.refuse(
                            k,
                            "an object with computed keys raises when two keys are equal; use \
                             constant keys",
                        );
                    }
                    self.expr(v)?;
                }
                Ty::Object
            }
            Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
                let mut inner = self.clone();
                inner.query(query)?;
                inner.expr(term)?;
                if matches!(expr, Expr::ArrayCompr { .. }) {
                    Ty::Array
                } else {
                    Ty::Set
                }
            }
            Expr::ObjectCompr { .. } => {
                return self.refuse(
                    expr,
                    "an object comprehension raises when two keys get different values; use a \
                     set comprehension",
                )
            }
            Expr::Call { fcn, params, .. } => self.call(expr, fcn, params)?,
            Expr::UnaryExpr { expr: operand, .. } => {
                self.operands(expr, &[operand], Ty::Number, "negation")?;
                Ty::Number
            }
            Expr::RefDot { refr, .. } => {
                self.expr(refr)?;
                key(expr).map_or(Ty::Any, |k| self.type_of_key(&k))
            }
            Expr::RefBrack { refr, index, .. } => {
                self.expr(refr)?;
                self.expr(index)?;
                if constant(index).is_none() {
                    self.iterates = true;
                }
                key(expr).map_or(Ty::Any, |k| self.type_of_key(&k))
            }
            Expr::BinExpr { op, lhs, rhs, .. } => {
                let name = match op {
                    BinOp::Union => "`|`",
                    BinOp::Intersection => "`&`",
                };
                self.operands(expr, &[lhs, rhs], Ty::Set, name)?;
                Ty::Set
            }
            Expr::BoolExpr { op, lhs, rhs, .. } => {
                let (left, right) = (self.expr(lhs)?, self.expr(rhs)?);
                let ordered = matches!(op, BoolOp::Lt | BoolOp::Le | BoolOp::Gt | BoolOp::Ge);
                if ordered && !(left == right && matches!(left, Ty::Number | Ty::String)) {
                    return self.refuse(
                        expr,
                        "an ordering between values not both known numbers or both known \
                         strings decides differently on the RVM and the interpreter; check them \
                         first with `is_number` (or `is_string`)",
                    );
                }
                Ty::Bool
            }
            Expr::ArithExpr { op, lhs, rhs, .. } => {
                let sets = *op == ArithOp::Sub
                    && self.type_of(lhs) == Ty::Set
                    && self.type_of(rhs) == Ty::Set;
                if sets {
                    self.operands(expr, &[lhs, rhs], Ty::Set, "`-`")?;
                    return Ok(Ty::Set);
                }
                self.operands(expr, &[lhs, rhs], Ty::Number, "arithmetic")?;
                let literal_divisor = matches!(&**rhs, Expr::Number { value, .. }
                    if value.as_f64().is_ok_and(|d| d != 0.0));
                match op {
                    ArithOp::Div if !literal_divisor => {
                        return self.refuse(
                            expr,
                            "a division raises when the divisor is zero; divide by a non-zero \
                             number literal",
                        )
                    }
                    ArithOp::Mod => {
                        return self.refuse(
                            expr,
                            "`%` raises on a zero divisor and on non-integers; it is not vetted",
                        )
                    }
                    _ => Ty::Number,
                }
            }
            Expr::AssignExpr { op, lhs, rhs, .. } => {
                if !matches!(**lhs, Expr::Var { .. }) {
                    let what = match op {
                        AssignOp::ColEq => "`:=`",
                        AssignOp::Eq => "`=`",
                    };
                    return self.refuse(
                        expr,
                        &format!(
                            "{what} with a pattern on the left is not vetted; assign to a variable"
                        ),
                    );
                }
                self.expr(rhs)?;
                Ty::Bool
            }
            Expr::Membership {
                key: k,
                value,
                collection,
                ..
            } => {
                if let Some(k) = k {
                    self.expr(k)?;
                }
                self.expr(value)?;
                self.expr(collection)?;
                Ty::Bool
            }
            #[allow(unreachable_patterns)]
            _ => return self.refuse(expr, "this construct is not vetted"),
        })
    }

    /// Vets each operand and requires it to be of `ty`.
    fn operands(
        &mut self,
        whole: &Expr,
        operands: &[&Ref<Expr>],
        ty: Ty,
        what: &str,
    ) -> Vetted<()> {
        for operand in operands {
            if self.expr(operand)? != ty {
                let needed = match ty {
                    Ty::Set => "a set (check it with `is_set`)",
                    _ => "a number (check it with `is_number`)",
                };
                return self.refuse(
                    whole,
                    &format!("{what} raises unless each operand is {needed}"),
                );
            }
        }
        Ok(())
    }

    fn call(&mut self, whole: &Expr, fcn: &Expr, params: &[Ref<Expr>]) -> Vetted<Ty> {
        let name = key(fcn).unwrap_or_default();
        let Some((needs, ty)) = builtin(&name) else {
            return self.refuse(
                whole,
                &format!(
                    "`{name}` is not a vetted builtin (user functions and builtins such as \
                     `to_number` can raise); docs/policy.md lists the vetted builtins"
                ),
            );
        };
        if needs.len() != params.len() {
            return self.refuse(whole, &format!("`{name}` takes {} arguments", needs.len()));
        }
        for (i, (need, param)) in needs.iter().zip(params).enumerate() {
            let got = self.expr(param)?;
            if !need.accepts(got) {
                return self.refuse(
                    whole,
                    &format!(
                        "`{name}` raises unless argument {} is {}",
                        i + 1,
                        need.describe()
                    ),
                );
            }
        }
        match name.as_str() {
            "regex.match" => self.literal_pattern(whole, &params[0])?,
            "sprintf" => self.plain_format(whole, &params[0], &params[1])?,
            _ => {}
        }
        Ok(ty)
    }

    /// `regex.match` raises on an invalid pattern: only a literal that compiles is vetted.
    fn literal_pattern(&self, whole: &Expr, pattern: &Expr) -> Vetted<()> {
        match pattern {
            Expr::String { value, .. } | Expr::RawString { value, .. }
                if value
                    .as_string()
                    .is_ok_and(|p| regex::Regex::new(p).is_ok()) =>
            {
                Ok(())
            }
            _ => self.refuse(
                whole,
                "`regex.match` raises on an invalid pattern; give the pattern as a valid string \
                 literal",
            ),
        }
    }

    /// `sprintf` with `%v` verbs only and exactly as many values in an array literal.
    fn plain_format(&self, whole: &Expr, format: &Expr, values: &Expr) -> Vetted<()> {
        let verbs = match format {
            Expr::String { value, .. } | Expr::RawString { value, .. } => {
                value.as_string().ok().and_then(|f| count_plain_verbs(f))
            }
            _ => None,
        };
        match (verbs, values) {
            (Some(n), Expr::Array { items, .. }) if items.len() == n => Ok(()),
            _ => self.refuse(
                whole,
                "`sprintf` is vetted with a literal format of `%v` verbs and an array literal of \
                 as many values",
            ),
        }
    }
}

/// The number of `%v` verbs in `format`, `None` when it has any other verb.
fn count_plain_verbs(format: &str) -> Option<usize> {
    let mut count = 0;
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('v') => count += 1,
                Some('%') => {}
                _ => return None,
            }
        }
    }
    Some(count)
}

/// The type of a literal expression.
fn literal_type(expr: &Expr) -> Option<Ty> {
    match expr {
        Expr::String { .. } | Expr::RawString { .. } => Some(Ty::String),
        Expr::Number { .. } => Some(Ty::Number),
        Expr::Bool { .. } => Some(Ty::Bool),
        Expr::Null { .. } => Some(Ty::Null),
        _ => None,
    }
}

fn key_or_empty(expr: &Expr) -> String {
    key(expr).unwrap_or_default()
}
