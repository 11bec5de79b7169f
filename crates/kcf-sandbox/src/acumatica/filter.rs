//! Acumatica's `$filter`: OData v3 comparisons (`eq ne gt ge lt le`), `and`, `or`, `not`,
//! parentheses, `substringof`/`startswith`/`endswith`, literals (`'text'` with `''` for a
//! quote, numbers, `true`/`false`/`null`, `datetimeoffset'…'`, `datetime'…'`, `guid'…'`) and
//! linked fields (`MainContact/Email`). Strings compare case-insensitively, as Acumatica's
//! database does.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `not a`.
    Not(Box<Expr>),
    /// `left op right`.
    Compare(Operand, Op, Operand),
    /// `substringof('x', Field)`, `startswith(Field, 'x')`, `endswith(Field, 'x')`.
    Text(TextFn, Operand, Operand),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// eq
    Eq,
    /// ne
    Ne,
    /// gt
    Gt,
    /// ge
    Ge,
    /// lt
    Lt,
    /// le
    Le,
}

/// A string function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFn {
    /// `substringof(needle, haystack)`.
    SubstringOf,
    /// `startswith(haystack, prefix)`.
    StartsWith,
    /// `endswith(haystack, suffix)`.
    EndsWith,
}

/// A side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A field path (`InventoryID`, `MainContact/Email`).
    Field(Vec<String>),
    /// A literal.
    Literal(Literal),
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// null.
    Null,
    /// An instant, Unix ms.
    Instant(i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Text(String),
    Number(f64),
    Typed(String, String),
    Open,
    Close,
    Comma,
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            '\'' => {
                let (text, next) = quoted(&chars, i)?;
                out.push(Token::Text(text));
                i = next;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                // Numbers may carry a type suffix (10m, 10M, 1.5d); drop it.
                if i < chars.len() && "mMdDfFlL".contains(chars[i]) {
                    i += 1;
                }
                out.push(Token::Number(
                    text.parse()
                        .map_err(|_| format!("'{text}' is not a number"))?,
                ));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || "_/.".contains(chars[i])) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if i < chars.len() && chars[i] == '\'' {
                    let (text, next) = quoted(&chars, i)?;
                    out.push(Token::Typed(word.to_lowercase(), text));
                    i = next;
                } else {
                    out.push(Token::Ident(word));
                }
            }
            other => return Err(format!("unexpected character '{other}' at position {i}")),
        }
    }
    Ok(out)
}

fn quoted(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let mut i = start + 1;
    let mut text = String::new();
    loop {
        match chars.get(i) {
            None => return Err("a quoted value is not closed".into()),
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                text.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((text, i + 1)),
            Some(c) => {
                text.push(*c);
                i += 1;
            }
        }
    }
}

/// Parses a `$filter` value.
pub fn parse(input: &str) -> Result<Expr, String> {
    let tokens = tokenize(input)?;
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
        joins: 0,
    };
    let expr = p.or()?;
    if p.at != p.tokens.len() {
        return Err(format!(
            "unexpected '{}' after the end of the filter",
            p.describe()
        ));
    }
    Ok(expr)
}

/// The deepest nesting of parentheses and `not` a filter may have.
const MAX_DEPTH: usize = 64;
/// The most `and`/`or` a filter may join (each is a level of the tree the evaluator walks).
const MAX_JOINS: usize = 512;

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// Parentheses and `not` open now.
    depth: usize,
    /// `and`/`or` so far.
    joins: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn describe(&self) -> String {
        match self.peek() {
            Some(Token::Ident(w)) => w.clone(),
            Some(Token::Text(t)) => format!("'{t}'"),
            Some(Token::Number(n)) => n.to_string(),
            Some(Token::Typed(k, v)) => format!("{k}'{v}'"),
            Some(Token::Open) => "(".into(),
            Some(Token::Close) => ")".into(),
            Some(Token::Comma) => ",".into(),
            None => "end of filter".into(),
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Ident(w)) if w.eq_ignore_ascii_case(word)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<(), String> {
        if self.peek() == Some(&token) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected {what} but found '{}'", self.describe()))
        }
    }

    fn join(&mut self) -> Result<(), String> {
        self.joins += 1;
        if self.joins > MAX_JOINS {
            return Err(format!(
                "the filter joins more than {MAX_JOINS} conditions with and/or"
            ));
        }
        Ok(())
    }

    fn deeper(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "the filter nests parentheses or 'not' more than {MAX_DEPTH} deep"
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.join()?;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.join()?;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.keyword("not") {
            self.deeper()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            self.deeper()?;
            let inner = self.or()?;
            self.expect(Token::Close, "')'")?;
            self.depth -= 1;
            return Ok(inner);
        }
        let function = match self.peek() {
            Some(Token::Ident(w)) if self.tokens.get(self.at + 1) == Some(&Token::Open) => {
                match w.to_lowercase().as_str() {
                    "substringof" => Some(TextFn::SubstringOf),
                    "startswith" => Some(TextFn::StartsWith),
                    "endswith" => Some(TextFn::EndsWith),
                    other => return Err(format!("the function '{other}' is not supported")),
                }
            }
            _ => None,
        };
        if let Some(f) = function {
            self.at += 2;
            let a = self.operand()?;
            self.expect(Token::Comma, "','")?;
            let b = self.operand()?;
            self.expect(Token::Close, "')'")?;
            // `substringof(...) eq true` is how OData v3 clients often write it.
            if self.keyword("eq") {
                let truth = self.operand()?;
                let expr = Expr::Text(f, a, b);
                return Ok(match truth {
                    Operand::Literal(Literal::Bool(false)) => Expr::Not(Box::new(expr)),
                    _ => expr,
                });
            }
            return Ok(Expr::Text(f, a, b));
        }
        let left = self.operand()?;
        let op = match self.peek() {
            Some(Token::Ident(w)) => match w.to_lowercase().as_str() {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                other => {
                    return Err(format!(
                        "'{other}' is not a comparison operator (eq ne gt ge lt le)"
                    ));
                }
            },
            _ => {
                return Err(format!(
                    "expected a comparison operator but found '{}'",
                    self.describe()
                ));
            }
        };
        self.at += 1;
        let right = self.operand()?;
        Ok(Expr::Compare(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        let token = self.peek().cloned().ok_or("the filter ends too early")?;
        self.at += 1;
        Ok(match token {
            Token::Text(t) => Operand::Literal(Literal::Text(t)),
            Token::Number(n) => Operand::Literal(Literal::Number(n)),
            Token::Typed(kind, v) => match kind.as_str() {
                "datetimeoffset" | "datetime" => Operand::Literal(Literal::Instant(
                    instant(&v).ok_or_else(|| format!("'{v}' is not a date and time"))?,
                )),
                "guid" => Operand::Literal(Literal::Text(v)),
                other => return Err(format!("'{other}' literals are not supported")),
            },
            Token::Ident(w) if w.eq_ignore_ascii_case("true") => {
                Operand::Literal(Literal::Bool(true))
            }
            Token::Ident(w) if w.eq_ignore_ascii_case("false") => {
                Operand::Literal(Literal::Bool(false))
            }
            Token::Ident(w) if w.eq_ignore_ascii_case("null") => Operand::Literal(Literal::Null),
            Token::Ident(w) => Operand::Field(w.split('/').map(str::to_owned).collect()),
            other => {
                self.at -= 1;
                let _ = other;
                return Err(format!(
                    "expected a field or a value but found '{}'",
                    self.describe()
                ));
            }
        })
    }
}

/// Parses an ISO date-time (an offset, `Z`, or none: UTC) into Unix ms.
pub fn instant(v: &str) -> Option<i64> {
    if let Ok(t) = v.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond());
    }
    let dt: jiff::civil::DateTime = v.parse().ok()?;
    format!("{dt}Z")
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Text(String),
    Number(f64),
    Bool(bool),
    Instant(i64),
    Null,
}

fn resolve(record: &Map<String, Value>, path: &[String]) -> Val {
    let mut current: Option<&Value> = None;
    for (n, part) in path.iter().enumerate() {
        let next = if n == 0 {
            record.get(part)
        } else {
            current.and_then(|c| c.get(part))
        };
        current = next;
    }
    match current {
        None | Some(Value::Null) => Val::Null,
        Some(Value::String(s)) => Val::Text(s.clone()),
        Some(Value::Number(n)) => Val::Number(n.as_f64().unwrap_or(0.0)),
        Some(Value::Bool(b)) => Val::Bool(*b),
        Some(other) => Val::Text(other.to_string()),
    }
}

fn value_of(record: &Map<String, Value>, o: &Operand) -> Val {
    match o {
        Operand::Field(path) => resolve(record, path),
        Operand::Literal(Literal::Text(t)) => Val::Text(t.clone()),
        Operand::Literal(Literal::Number(n)) => Val::Number(*n),
        Operand::Literal(Literal::Bool(b)) => Val::Bool(*b),
        Operand::Literal(Literal::Null) => Val::Null,
        Operand::Literal(Literal::Instant(ms)) => Val::Instant(*ms),
    }
}

fn compare(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Text(x), Val::Text(y)) => Some(x.to_lowercase().cmp(&y.to_lowercase())),
        (Val::Number(x), Val::Number(y)) => x.partial_cmp(y),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Instant(x), Val::Instant(y)) => Some(x.cmp(y)),
        // Stored dates are text; compare them as instants against date literals.
        (Val::Text(x), Val::Instant(y)) => instant(x).map(|x| x.cmp(y)),
        (Val::Instant(x), Val::Text(y)) => instant(y).map(|y| x.cmp(&y)),
        (Val::Text(x), Val::Number(y)) => x.parse::<f64>().ok().and_then(|x| x.partial_cmp(y)),
        _ => None,
    }
}

impl Expr {
    /// Whether `record` (plain field values) passes the filter.
    pub fn matches(&self, record: &Map<String, Value>) -> bool {
        match self {
            Expr::Or(a, b) => a.matches(record) || b.matches(record),
            Expr::And(a, b) => a.matches(record) && b.matches(record),
            Expr::Not(a) => !a.matches(record),
            Expr::Compare(l, op, r) => {
                let (a, b) = (value_of(record, l), value_of(record, r));
                if a == Val::Null || b == Val::Null {
                    let both = a == Val::Null && b == Val::Null;
                    return match op {
                        Op::Eq => both,
                        Op::Ne => !both,
                        _ => false,
                    };
                }
                let Some(ord) = compare(&a, &b) else {
                    return false;
                };
                match op {
                    Op::Eq => ord == Ordering::Equal,
                    Op::Ne => ord != Ordering::Equal,
                    Op::Gt => ord == Ordering::Greater,
                    Op::Ge => ord != Ordering::Less,
                    Op::Lt => ord == Ordering::Less,
                    Op::Le => ord != Ordering::Greater,
                }
            }
            Expr::Text(f, a, b) => {
                let (Val::Text(a), Val::Text(b)) = (value_of(record, a), value_of(record, b))
                else {
                    return false;
                };
                let (a, b) = (a.to_lowercase(), b.to_lowercase());
                match f {
                    TextFn::SubstringOf => b.contains(&a),
                    TextFn::StartsWith => a.starts_with(&b),
                    TextFn::EndsWith => a.ends_with(&b),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec() -> Map<String, Value> {
        json!({
            "InventoryID": "AACOMPUT01", "DefaultPrice": 1200.0, "ItemStatus": "Active", "Active": true,
            "LastModifiedDateTime": "2024-05-05T15:16:23.103+00:00", "Note": null,
            "MainContact": { "Email": "Jane@Example.com" }, "Description": "It's a computer"
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn yes(f: &str) -> bool {
        parse(f)
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .matches(&rec())
    }

    /// Found by `cargo fuzz` (fuzz/fuzz_targets/acumatica_filter.rs): thousands of nested
    /// parentheses overflowed the stack of the recursive parser.
    #[test]
    fn deep_nesting_and_long_chains_are_refused_not_a_stack_overflow() {
        let deep = format!(
            "{}Active eq true{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert!(parse(&deep).unwrap_err().contains("more than 64 deep"));
        let nots = format!("{}Active eq true", "not ".repeat(100_000));
        assert!(parse(&nots).is_err());
        let chain = vec!["Active eq true"; 100_000].join(" or ");
        assert!(parse(&chain).unwrap_err().contains("more than 512"));
        let nested = format!("{}Active eq true{}", "(".repeat(64), ")".repeat(64));
        assert!(yes(&nested));
    }

    #[test]
    fn comparisons_and_logic() {
        assert!(yes("InventoryID eq 'aacomput01'"));
        assert!(yes("DefaultPrice gt 1000 and DefaultPrice le 1200.0m"));
        assert!(!yes("DefaultPrice lt 1000 or ItemStatus ne 'Active'"));
        assert!(yes("not (ItemStatus eq 'Inactive')"));
        assert!(yes(
            "(InventoryID eq 'X' or InventoryID eq 'AACOMPUT01') and Active eq true"
        ));
        assert!(yes("Note eq null") && !yes("Note ne null") && yes("InventoryID ne null"));
        assert!(yes("Description eq 'It''s a computer'"));
    }

    #[test]
    fn dates_functions_and_linked_fields() {
        assert!(yes(
            "LastModifiedDateTime gt datetimeoffset'2024-05-05T18:00:00+03:00'"
        ));
        assert!(!yes(
            "LastModifiedDateTime gt datetimeoffset'2024-05-05T15:16:23.103Z'"
        ));
        assert!(yes(
            "LastModifiedDateTime ge datetime'2024-05-05T15:16:23.103'"
        ));
        assert!(yes("MainContact/Email eq 'jane@example.com'"));
        assert!(yes(
            "startswith(InventoryID, 'AA') and substringof('comp', Description)"
        ));
        assert!(
            yes("endswith(InventoryID,'01') eq true")
                && !yes("endswith(InventoryID,'01') eq false")
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(
            parse("InventoryID equals 'x'")
                .unwrap_err()
                .contains("not a comparison operator")
        );
        assert!(
            parse("InventoryID eq 'x")
                .unwrap_err()
                .contains("not closed")
        );
        assert!(parse("(A eq 1").unwrap_err().contains("expected ')'"));
        assert!(parse("A eq 1 B").unwrap_err().contains("after the end"));
        assert!(
            parse("tolower(A) eq 'x'")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(
            parse("A gt datetimeoffset'soon'")
                .unwrap_err()
                .contains("not a date")
        );
        assert!(parse("A eq").unwrap_err().contains("ends too early"));
    }
}
