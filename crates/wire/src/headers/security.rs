//! Security-Client, Security-Server and Security-Verify (RFC 3329 §2.2): a list of
//! mechanisms with their preference and digest parameters.

use super::HeaderList;
use crate::lex::{is_token, lex_params, parse_qvalue, Cursor, LexError, ParamValue, Params};
use crate::name::HeaderName;

/// One security mechanism (`tls;q=0.2`, `digest;d-alg=md5`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecurityMechanism<'a> {
    /// The mechanism name as written (`tls`, `digest`, `ipsec-ike`, ...).
    pub name: &'a str,
    /// The preference `q` in thousandths.
    pub q: Option<u16>,
    /// The `d-alg` parameter.
    pub d_alg: Option<&'a str>,
    /// The `d-qop` parameter.
    pub d_qop: Option<&'a str>,
    /// The `d-ver` parameter: 32 lower-case hex digits, unquoted.
    pub d_ver: Option<&'a str>,
    /// Every parameter.
    pub params: Params<'a>,
}

impl<'a> SecurityMechanism<'a> {
    /// Decodes every mechanism of one Security-Client / -Server / -Verify field value;
    /// `header` names which.
    pub fn parse_list(
        header: HeaderName,
        value: &'a [u8],
    ) -> HeaderList<'a, SecurityMechanism<'a>> {
        HeaderList::new(header.as_str(), value, false, lex_mechanism)
    }
}

fn lex_mechanism<'a>(cur: &mut Cursor<'a>) -> Result<SecurityMechanism<'a>, LexError> {
    const DUP: LexError = LexError("duplicate mechanism parameter");
    let name = cur.token().ok_or(LexError("missing mechanism name"))?;
    let mut q = None;
    let mut d_alg = None;
    let mut d_qop = None;
    let mut d_ver = None;
    let params = lex_params(cur, |p| {
        let token = || {
            p.value
                .and_then(|v| v.as_token())
                .filter(|t| is_token(t))
                .ok_or(LexError("mechanism parameter needs a token value"))
        };
        if p.name.eq_ignore_ascii_case("q") {
            let v = token()?;
            let v = parse_qvalue(v).ok_or(LexError("malformed q value"))?;
            if q.replace(v).is_some() {
                return Err(DUP);
            }
        } else if p.name.eq_ignore_ascii_case("d-alg") {
            if d_alg.replace(token()?).is_some() {
                return Err(DUP);
            }
        } else if p.name.eq_ignore_ascii_case("d-qop") {
            if d_qop.replace(token()?).is_some() {
                return Err(DUP);
            }
        } else if p.name.eq_ignore_ascii_case("d-ver") {
            let v = match p.value {
                Some(ParamValue::Quoted(q)) => q.raw(),
                _ => return Err(LexError("d-ver needs a quoted value")),
            };
            if v.len() != 32 || !v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(LexError("malformed d-ver"));
            }
            if d_ver.replace(v).is_some() {
                return Err(DUP);
            }
        }
        Ok(())
    })?;
    Ok(SecurityMechanism {
        name,
        q,
        d_alg,
        d_qop,
        d_ver,
        params,
    })
}
