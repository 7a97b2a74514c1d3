//! `plugin.yaml`: the typed plugin and its strict validation. Validation walks the parsed YAML by
//! hand so that every problem of a file is reported at once, each with its field path.

use serde::Serialize;
use yaml_serde::{Mapping, Value};

/// The newest plugin schema, written by `atk new`: atk-cli 0.4.0's (`mcp.transport: http`,
/// `mcp.timeout`). Older versions (`2026-01-23`) are accepted with the same rules, as 0.4.0 does.
pub const SCHEMA_VERSION: &str = "2026-08-20";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Maturity {
    AiGenerated,
    Community,
    Verified,
}

impl Maturity {
    pub fn as_str(self) -> &'static str {
        match self {
            Maturity::AiGenerated => "ai-generated",
            Maturity::Community => "community",
            Maturity::Verified => "verified",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Plugin {
    pub schema_version: String,
    pub name: String,
    pub description: String,
    /// `ai-generated` when the file gives none, as atk-cli 0.4.0 defaults it.
    pub maturity: Maturity,
    /// Whether plugin.yaml gives `maturity` (a hand-written plugin often does not).
    #[serde(skip)]
    pub maturity_declared: bool,
    pub service: Option<Service>,
    pub vendor: Option<Vendor>,
    pub ports: Vec<Port>,
    pub env_vars: Vec<EnvVar>,
    pub lifecycle: Lifecycle,
    pub mcp: Option<Mcp>,
}

impl Plugin {
    /// Whether the plugin declares a variable `name`.
    pub fn declares(&self, name: &str) -> bool {
        self.env_vars.iter().any(|v| v.name == name)
    }

    /// `--set KEY=VALUE` pairs may only name variables the plugin declares: the first that does
    /// not is a usage error that lists the ones it does.
    pub fn check_sets(&self, sets: &[(String, String)]) -> crate::Result<()> {
        let Some((key, _)) = sets.iter().find(|(k, _)| !self.declares(k)) else { return Ok(()) };
        let declared: Vec<&str> = self.env_vars.iter().map(|v| v.name.as_str()).collect();
        Err(crate::Error::usage(
            format!("plugin '{}' declares no variable {key}", crate::text::escape(&self.name)),
            Some(if declared.is_empty() {
                "it declares no variables".into()
            } else {
                format!("it declares: {}", declared.join(", "))
            }),
        ))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    #[serde(rename = "type")]
    pub kind: String,
    pub compose_file: Option<String>,
    pub unit_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Vendor {
    pub name: String,
    pub url: Option<String>,
    pub docs: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Port {
    pub port: u16,
    pub name: Option<String>,
    pub protocol: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub required: bool,
    pub secret: bool,
    pub default: Option<String>,
    pub description: Option<String>,
}

impl EnvVar {
    /// Whether its value is a secret: declared `secret: true`, or named like one
    /// ([`crate::plugin::secret::looks_secret`]). A secret's value is never shown.
    pub fn holds_secret(&self) -> bool {
        crate::plugin::secret::is_secret(&self.name, self.secret)
    }
}

/// The lifecycle commands; an absent section is the same as one with no commands.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Lifecycle {
    pub install: Option<String>,
    pub uninstall: Option<String>,
    pub start: Option<String>,
    pub stop: Option<String>,
    pub logs: Option<String>,
    pub status: Option<String>,
    pub health_endpoint: Option<String>,
}

impl Lifecycle {
    pub const STEPS: [&'static str; 6] = ["install", "uninstall", "start", "stop", "logs", "status"];

    /// The command of a step by its name (`install`, `uninstall`, `start`, ...).
    pub fn get(&self, step: &str) -> Option<&str> {
        match step {
            "install" => self.install.as_deref(),
            "uninstall" => self.uninstall.as_deref(),
            "start" => self.start.as_deref(),
            "stop" => self.stop.as_deref(),
            "logs" => self.logs.as_deref(),
            "status" => self.status.as_deref(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Mcp {
    pub transport: String,
    pub command: Option<String>,
    pub args: Option<Vec<String>>,
    pub endpoint: Option<String>,
    pub env: Option<Vec<String>>,
    /// Milliseconds per tool call.
    pub timeout: Option<u64>,
}

/// Validates a parsed `plugin.yaml` document. On failure, every problem as `path: message`.
pub fn validate(doc: &Value) -> Result<Plugin, Vec<String>> {
    let mut errors = Vec::new();
    let plugin = {
        let mut c = Checker { errors: &mut errors };
        c.plugin(doc)
    };
    match plugin {
        Some(p) if errors.is_empty() => Ok(p),
        _ => Err(errors),
    }
}

struct Checker<'e> {
    errors: &'e mut Vec<String>,
}

/// One mapping being read: the keys it allows, and the fields taken from it.
struct Obj<'a> {
    map: &'a Mapping,
    path: String,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

impl Checker<'_> {
    fn err(&mut self, path: &str, msg: impl std::fmt::Display) {
        if path.is_empty() {
            self.errors.push(msg.to_string());
        } else {
            self.errors.push(format!("{path}: {msg}"));
        }
    }

    /// Opens `v` as a mapping with the allowed `keys`, reporting unknown keys.
    fn obj<'a>(&mut self, v: &'a Value, path: &str, keys: &[&str]) -> Option<Obj<'a>> {
        let Value::Mapping(map) = v else {
            self.err(path, format!("expected a mapping, found {}", type_name(v)));
            return None;
        };
        for k in map.keys() {
            match k.as_str() {
                Some(k) if keys.contains(&k) => {}
                Some(k) => self.err(&join(path, k), format!("unknown field (allowed here: {})", keys.join(", "))),
                None => self.err(path, format!("field names must be strings, found {}", type_name(k))),
            }
        }
        Some(Obj { map, path: path.to_string() })
    }

    fn string(&mut self, o: &Obj, key: &str, required: bool) -> Option<String> {
        let path = join(&o.path, key);
        match o.map.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.err(&path, "required field is missing");
                }
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                self.err(&path, format!("expected a string, found {} (quote it)", type_name(v)));
                None
            }
        }
    }

    /// A boolean, with the same lax forms the Python CLI accepts (`yes`, `"true"`, `1`, ...).
    fn boolean(&mut self, o: &Obj, key: &str) -> bool {
        let path = join(&o.path, key);
        match o.map.get(key) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) if n.as_i64() == Some(0) => false,
            Some(Value::Number(n)) if n.as_i64() == Some(1) => true,
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "on" | "t" | "1" => true,
                "false" | "no" | "n" | "off" | "f" | "0" => false,
                _ => {
                    self.err(&path, format!("expected a boolean, found '{s}'"));
                    false
                }
            },
            Some(v) => {
                self.err(&path, format!("expected a boolean, found {}", type_name(v)));
                false
            }
        }
    }

    /// A list (absent is empty; `null` is an error, as upstream has it).
    fn list<'a>(&mut self, o: &Obj<'a>, key: &str) -> &'a [Value] {
        match o.map.get(key) {
            None => &[],
            Some(Value::Sequence(s)) => s,
            Some(v) => {
                self.err(&join(&o.path, key), format!("expected a list, found {}", type_name(v)));
                &[]
            }
        }
    }

    fn string_list(&mut self, o: &Obj, key: &str) -> Option<Vec<String>> {
        match o.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Sequence(items)) => {
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        v => self.err(
                            &format!("{}[{i}]", join(&o.path, key)),
                            format!("expected a string, found {} (quote it)", type_name(v)),
                        ),
                    }
                }
                Some(out)
            }
            Some(v) => {
                self.err(&join(&o.path, key), format!("expected a list of strings, found {}", type_name(v)));
                None
            }
        }
    }

    fn one_of(&mut self, o: &Obj, key: &str, allowed: &[&str], default: Option<&str>) -> Option<String> {
        let value = self.string(o, key, default.is_none())?;
        if allowed.contains(&value.as_str()) {
            Some(value)
        } else {
            let list = allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
            self.err(&join(&o.path, key), format!("'{value}' is not one of {list}"));
            None
        }
    }

    fn plugin(&mut self, doc: &Value) -> Option<Plugin> {
        const KEYS: [&str; 10] = [
            "schema_version",
            "name",
            "description",
            "maturity",
            "service",
            "vendor",
            "ports",
            "env_vars",
            "lifecycle",
            "mcp",
        ];
        let o = self.obj(doc, "", &KEYS)?;

        let schema_version = self.string(&o, "schema_version", true);
        if let Some(v) = &schema_version {
            if !is_date(v) {
                self.err("schema_version", format!("'{v}' is not a date in the form YYYY-MM-DD"));
            }
        }
        let name = self.string(&o, "name", true);
        if let Some(n) = &name {
            if n.trim().is_empty() {
                self.err("name", "must not be empty");
            }
        }
        let description = self.string(&o, "description", true);
        let maturity_declared = !matches!(o.map.get("maturity"), None | Some(Value::Null));
        let maturity = match self
            .one_of(&o, "maturity", &["ai-generated", "community", "verified"], Some("ai-generated"))
            .as_deref()
        {
            Some("community") => Maturity::Community,
            Some("verified") => Maturity::Verified,
            _ => Maturity::AiGenerated,
        };

        let service = match o.map.get("service") {
            None | Some(Value::Null) => None,
            Some(v) => self.obj(v, "service", &["type", "compose_file", "unit_name"]).map(|s| Service {
                kind: self
                    .one_of(&s, "type", &["docker-compose", "docker", "systemd", "script"], Some("docker-compose"))
                    .unwrap_or_else(|| "docker-compose".into()),
                compose_file: self.string(&s, "compose_file", false),
                unit_name: self.string(&s, "unit_name", false),
            }),
        };
        let vendor = match o.map.get("vendor") {
            None | Some(Value::Null) => None,
            Some(v) => self.obj(v, "vendor", &["name", "url", "docs"]).map(|s| Vendor {
                name: self.string(&s, "name", true).unwrap_or_default(),
                url: self.string(&s, "url", false),
                docs: self.string(&s, "docs", false),
            }),
        };

        let mut ports = Vec::new();
        for (i, v) in self.list(&o, "ports").iter().enumerate() {
            let path = format!("ports[{i}]");
            let Some(p) = self.obj(v, &path, &["port", "name", "protocol", "description"]) else {
                continue;
            };
            let port = self.port(&p);
            let name = self.string(&p, "name", false);
            let protocol = self.string(&p, "protocol", false).unwrap_or_else(|| "http".into());
            let description = self.string(&p, "description", false);
            if let Some(port) = port {
                ports.push(Port { port, name, protocol, description });
            }
        }

        let mut env_vars: Vec<EnvVar> = Vec::new();
        for (i, v) in self.list(&o, "env_vars").iter().enumerate() {
            let path = format!("env_vars[{i}]");
            let Some(e) = self.obj(v, &path, &["name", "required", "secret", "default", "description"]) else {
                continue;
            };
            let name = self.string(&e, "name", true);
            if let Some(n) = &name {
                if !is_env_name(n) {
                    self.err(
                        &join(&path, "name"),
                        format!("'{n}' is not a valid variable name (use A-Z, 0-9 and _, not starting with a digit)"),
                    );
                } else if env_vars.iter().any(|v| &v.name == n) {
                    self.err(&join(&path, "name"), format!("'{n}' is declared twice"));
                }
            }
            let var = EnvVar {
                name: name.unwrap_or_default(),
                required: self.boolean(&e, "required"),
                secret: self.boolean(&e, "secret"),
                default: self.string(&e, "default", false),
                description: self.string(&e, "description", false),
            };
            env_vars.push(var);
        }

        let lifecycle = match o.map.get("lifecycle") {
            None | Some(Value::Null) => Lifecycle::default(),
            Some(v) => {
                let keys = ["install", "uninstall", "start", "stop", "logs", "status", "health_endpoint"];
                match self.obj(v, "lifecycle", &keys) {
                    Some(l) => {
                        let lc = Lifecycle {
                            install: self.string(&l, "install", false),
                            uninstall: self.string(&l, "uninstall", false),
                            start: self.string(&l, "start", false),
                            stop: self.string(&l, "stop", false),
                            logs: self.string(&l, "logs", false),
                            status: self.string(&l, "status", false),
                            health_endpoint: self.string(&l, "health_endpoint", false),
                        };
                        if lc.install.is_some() && lc.uninstall.is_none() {
                            self.err(
                                "lifecycle.uninstall",
                                "required when 'install' is defined, so that what install sets up can be removed",
                            );
                        }
                        lc
                    }
                    None => Lifecycle::default(),
                }
            }
        };

        let mcp = match o.map.get("mcp") {
            None | Some(Value::Null) => None,
            Some(v) => self.mcp(v),
        };

        Some(Plugin {
            schema_version: schema_version?,
            name: name?,
            description: description?,
            maturity,
            maturity_declared,
            service,
            vendor,
            ports,
            env_vars,
            lifecycle,
            mcp,
        })
    }

    fn port(&mut self, p: &Obj) -> Option<u16> {
        let path = join(&p.path, "port");
        let n: Option<i64> = match p.map.get("port") {
            None | Some(Value::Null) => {
                self.err(&path, "required field is missing");
                return None;
            }
            Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        match n {
            Some(n) if (1..=65535).contains(&n) => Some(n as u16),
            Some(n) => {
                self.err(&path, format!("{n} is out of range (1 to 65535)"));
                None
            }
            None => {
                self.err(&path, "expected a port number");
                None
            }
        }
    }

    fn mcp(&mut self, v: &Value) -> Option<Mcp> {
        let m = self.obj(v, "mcp", &["transport", "command", "args", "endpoint", "env", "timeout"])?;
        let transport = self.one_of(&m, "transport", &["stdio", "http", "sse"], None);
        let command = self.string(&m, "command", false);
        let args = self.string_list(&m, "args");
        let endpoint = self.string(&m, "endpoint", false);
        let env = self.string_list(&m, "env");
        let timeout = self.timeout(&m);
        match transport.as_deref() {
            Some("stdio") => {
                if command.is_none() {
                    self.err("mcp.command", "required when transport is 'stdio'");
                }
                if endpoint.is_some() {
                    self.err("mcp.endpoint", "not allowed when transport is 'stdio'");
                }
            }
            Some(remote @ ("http" | "sse")) => {
                if endpoint.is_none() {
                    self.err("mcp.endpoint", format!("required when transport is '{remote}'"));
                }
                if command.is_some() {
                    self.err("mcp.command", format!("not allowed when transport is '{remote}'"));
                }
                if args.is_some() {
                    self.err("mcp.args", format!("not allowed when transport is '{remote}'"));
                }
            }
            _ => {}
        }
        Some(Mcp { transport: transport?, command, args, endpoint, env, timeout })
    }

    /// `mcp.timeout`: a positive whole number of milliseconds (a quoted one too, as upstream).
    fn timeout(&mut self, m: &Obj) -> Option<u64> {
        let path = join(&m.path, "timeout");
        let v = m.map.get("timeout")?;
        let n = match v {
            Value::Null => return None,
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n > 0 => Some(n as u64),
            Some(n) => {
                self.err(&path, format!("{n} is not a positive number of milliseconds"));
                None
            }
            None => {
                self.err(&path, format!("expected a whole number of milliseconds, found {}", describe(v)));
                None
            }
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Number(n) => n.to_string(),
        v => type_name(v).to_string(),
    }
}

/// `^\d{4}-\d{2}-\d{2}$`
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}

/// `^[A-Z_][A-Z0-9_]*$`
pub fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('A'..='Z' | '_')) && chars.all(|c| matches!(c, 'A'..='Z' | '0'..='9' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str) -> Result<Plugin, Vec<String>> {
        validate(&yaml_serde::from_str(yaml).unwrap())
    }

    const MINIMAL: &str = "schema_version: '2026-01-23'\nname: Demo\ndescription: d\n";

    #[test]
    fn an_unquoted_date_is_a_schema_version() {
        let p = check("schema_version: 2026-01-23\nname: Demo\ndescription: d\n").unwrap();
        assert_eq!(p.schema_version, "2026-01-23");
    }

    #[test]
    fn minimal_plugin_is_valid_with_defaults() {
        let p = check(MINIMAL).unwrap();
        assert_eq!(p.maturity, Maturity::AiGenerated);
        assert!(!p.maturity_declared);
        assert!(p.env_vars.is_empty() && p.ports.is_empty() && p.mcp.is_none());
    }

    #[test]
    fn reports_every_error_with_its_path() {
        let errs = check(
            "schema_version: '26-1-1'\nname: x\nextra: 1\nmaturity: gold\nports: [{port: 0}, {port: '8080'}]\n\
             env_vars: [{name: my-var}, {name: OK, default: 5}]\nlifecycle: {install: a}\n\
             mcp: {transport: stdio, endpoint: http://x, enabled: true}\n",
        )
        .unwrap_err();
        let all = errs.join("\n");
        for needle in [
            "schema_version: '26-1-1' is not a date",
            "description: required field is missing",
            "extra: unknown field",
            "maturity: 'gold' is not one of",
            "ports[0].port: 0 is out of range",
            "env_vars[0].name: 'my-var' is not a valid variable name",
            "env_vars[1].default: expected a string, found a number",
            "lifecycle.uninstall: required when 'install' is defined",
            "mcp.enabled: unknown field",
            "mcp.command: required when transport is 'stdio'",
            "mcp.endpoint: not allowed when transport is 'stdio'",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in\n{all}");
        }
        assert_eq!(errs.len(), 11, "{all}");
    }

    #[test]
    fn lax_forms_accepted_like_upstream() {
        let p = check(&format!("{MINIMAL}ports: [{{port: '8080'}}, {{port: 80.0}}]\nenv_vars: [{{name: A, required: yes, secret: 'true'}}]\n")).unwrap();
        assert_eq!(p.ports.iter().map(|p| p.port).collect::<Vec<_>>(), [8080, 80]);
        assert!(p.env_vars[0].required && p.env_vars[0].secret);
    }

    #[test]
    fn sse_rules() {
        let errs = check(&format!("{MINIMAL}mcp: {{transport: sse, command: x, args: [a]}}\n")).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(check(&format!("{MINIMAL}mcp: {{transport: sse, endpoint: 'http://h/sse'}}\n")).is_ok());
    }

    #[test]
    fn http_and_timeout_of_schema_2026_08_20() {
        let newest = MINIMAL.replace("2026-01-23", SCHEMA_VERSION);
        let p =
            check(&format!("{newest}mcp: {{transport: http, endpoint: 'https://h/mcp', timeout: 600000, env: [A]}}\n"))
                .unwrap();
        let mcp = p.mcp.unwrap();
        assert_eq!((mcp.transport.as_str(), mcp.timeout), ("http", Some(600000)));
        let p = check(&format!("{MINIMAL}mcp: {{transport: stdio, command: x, timeout: '5000'}}\n")).unwrap();
        assert_eq!(p.mcp.unwrap().timeout, Some(5000));
        let errs =
            check(&format!("{newest}mcp: {{transport: http, command: x, args: [a], timeout: 0}}\n")).unwrap_err();
        assert_eq!(
            errs,
            [
                "mcp.timeout: 0 is not a positive number of milliseconds",
                "mcp.endpoint: required when transport is 'http'",
                "mcp.command: not allowed when transport is 'http'",
                "mcp.args: not allowed when transport is 'http'",
            ]
        );
        for bad in ["-1", "1.5", "soon", "true", "[1]"] {
            let errs = check(&format!("{newest}mcp: {{transport: stdio, command: x, timeout: {bad}}}\n")).unwrap_err();
            assert!(errs.len() == 1 && errs[0].starts_with("mcp.timeout: "), "{bad}: {errs:?}");
        }
        let errs = check(&format!("{newest}mcp: {{transport: websocket, endpoint: x}}\n")).unwrap_err();
        assert_eq!(errs, ["mcp.transport: 'websocket' is not one of 'stdio', 'http', 'sse'"]);
    }

    #[test]
    fn null_lists_are_errors_but_null_sections_are_not() {
        assert!(check(&format!("{MINIMAL}env_vars:\n")).is_err());
        assert!(check(&format!("{MINIMAL}lifecycle:\nmcp: null\n")).is_ok());
    }

    #[test]
    fn env_names() {
        assert!(is_env_name("API_KEY") && is_env_name("_X1"));
        assert!(!is_env_name("1A") && !is_env_name("a") && !is_env_name("") && !is_env_name("A-B"));
    }
}
