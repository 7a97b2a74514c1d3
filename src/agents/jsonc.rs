//! JSONC files edited in place: one member set or removed, one string added to or removed from an
//! array, and every other byte of the file (comments, order, indentation, trailing commas) kept.
//! The concrete syntax tree is `jsonc-parser`'s.
//!
//! A key written twice in an object atk reads or edits is refused: the agents (JSON.parse, serde,
//! VS Code's parser) take the last member, while an edit of "the" member would land on the first.

use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use jsonc_parser::ParseOptions;
use serde_json::Value;

/// A parsed JSONC document whose top level is an object (an empty file is an empty object).
pub struct Doc {
    root: CstRootNode,
    /// The file began with a UTF-8 byte-order mark (as editors on Windows write): it is kept.
    bom: bool,
    /// The text as read (without the mark), where keys written twice are looked for.
    source: String,
}

fn options() -> ParseOptions {
    ParseOptions { allow_missing_commas: false, ..ParseOptions::default() }
}

impl Doc {
    pub fn parse(text: &str) -> Result<Doc, String> {
        let (bom, text) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let root = CstRootNode::parse(text, &options()).map_err(|e| format!("not valid JSON with comments: {e}"))?;
        match root.value() {
            None => {
                root.object_value_or_set();
            }
            Some(v) if v.as_object().is_some() => {}
            Some(_) => return Err("its top level is not an object".into()),
        }
        Ok(Doc { root, bom, source: text.to_string() })
    }

    /// Refuses a key written twice where atk looks: `key` in the top level, any key of the object
    /// at `key` (the servers, each read as a whole), and any key at any depth inside its member
    /// `name`, which atk reads and compares.
    fn check_unique(&self, key: &str, name: Option<&str>) -> Result<(), String> {
        let parsed = jsonc_parser::parse_to_ast(&self.source, &Default::default(), &options())
            .map_err(|e| format!("not valid JSON with comments: {e}"))?;
        let Some(jsonc_parser::ast::Value::Object(top)) = parsed.value else { return Ok(()) };
        let found: Vec<_> = top.properties.iter().filter(|p| p.name.as_str() == key).collect();
        if found.len() > 1 {
            return Err(self.twice(&[key], found.iter().map(|p| p.range.start)));
        }
        let Some(jsonc_parser::ast::Value::Object(section)) = found.first().map(|p| &p.value) else { return Ok(()) };
        self.unique_keys(section, &mut vec![key.to_string()], false)?;
        match name.and_then(|n| section.properties.iter().find(|p| p.name.as_str() == n)) {
            Some(member) => self.unique_within(&member.value, &mut vec![key.to_string(), member.name.as_str().into()]),
            None => Ok(()),
        }
    }

    /// Refuses a key written twice in `obj`, and with `deep`, in any object inside it.
    fn unique_keys(&self, obj: &jsonc_parser::ast::Object, path: &mut Vec<String>, deep: bool) -> Result<(), String> {
        for (i, p) in obj.properties.iter().enumerate() {
            let name = p.name.as_str();
            if obj.properties[..i].iter().any(|q| q.name.as_str() == name) {
                let starts = obj.properties.iter().filter(|q| q.name.as_str() == name).map(|q| q.range.start);
                path.push(name.to_string());
                return Err(self.twice(&path.iter().map(String::as_str).collect::<Vec<_>>(), starts));
            }
        }
        if deep {
            for p in &obj.properties {
                path.push(p.name.as_str().to_string());
                self.unique_within(&p.value, path)?;
                path.pop();
            }
        }
        Ok(())
    }

    fn unique_within(&self, value: &jsonc_parser::ast::Value, path: &mut Vec<String>) -> Result<(), String> {
        match value {
            jsonc_parser::ast::Value::Object(o) => self.unique_keys(o, path, true),
            jsonc_parser::ast::Value::Array(a) => {
                for (i, e) in a.elements.iter().enumerate() {
                    path.push(i.to_string());
                    self.unique_within(e, path)?;
                    path.pop();
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The refusal of the key at `path` written at the byte offsets `starts`.
    fn twice(&self, path: &[&str], starts: impl Iterator<Item = usize>) -> String {
        let line = |at: usize| self.source.get(..at).unwrap_or_default().matches('\n').count() + 1;
        let mut lines: Vec<String> = starts.map(|s| line(s).to_string()).collect();
        let count = lines.len();
        let last = lines.pop().unwrap_or_default();
        let key = path.iter().map(|k| format!("\"{}\"", crate::text::escape(k))).collect::<Vec<_>>().join(".");
        format!(
            "{key} is written {count} times (lines {} and {last}) and agents read only the last one: keep one, then run the command again",
            lines.join(", ")
        )
    }

    fn top(&self) -> CstObject {
        self.root.object_value().expect("checked at parse")
    }

    /// The object at `key` of the top level; created when `create` and absent.
    fn section(&self, key: &str, create: bool) -> Result<Option<CstObject>, String> {
        self.check_unique(key, None)?;
        let top = self.top();
        match top.get(key) {
            Some(prop) => match prop.value() {
                Some(v) => v.as_object().map(Some).ok_or_else(|| format!("\"{key}\" is not an object")),
                None => Err(format!("\"{key}\" has no value")),
            },
            None if create => Ok(Some(top.append(key, CstInputValue::Object(vec![])).object_value_or_set())),
            None => Ok(None),
        }
    }

    /// The value of `section.name`, if there is one.
    pub fn member(&self, section: &str, name: &str) -> Result<Option<Value>, String> {
        self.check_unique(section, Some(name))?;
        Ok(self.section(section, false)?.and_then(|o| o.get(name)).and_then(|p| p.value()?.to_serde_value()))
    }

    /// Sets `section.name` to `value`; whether anything changed.
    pub fn set_member(&mut self, section: &str, name: &str, value: &Value) -> Result<bool, String> {
        if self.member(section, name)?.as_ref() == Some(value) {
            return Ok(false);
        }
        let obj = self.section(section, true)?.expect("created");
        match obj.get(name) {
            Some(prop) => prop.set_value(input(value)),
            None => {
                obj.append(name, input(value));
            }
        }
        Ok(true)
    }

    /// Removes `section.name`; whether it was there.
    pub fn remove_member(&mut self, section: &str, name: &str) -> Result<bool, String> {
        self.check_unique(section, Some(name))?;
        match self.section(section, false)?.and_then(|o| o.get(name)) {
            Some(prop) => {
                prop.remove();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Appends the string `item` to the array at `key` (created when absent) unless it is in it.
    pub fn add_to_array(&mut self, key: &str, item: &str) -> Result<bool, String> {
        self.check_unique(key, None)?;
        let top = self.top();
        let array = match top.get(key) {
            Some(prop) => prop.value().and_then(|v| v.as_array()).ok_or_else(|| format!("\"{key}\" is not a list"))?,
            None => top.append(key, CstInputValue::Array(vec![])).array_value_or_set(),
        };
        if array.elements().iter().any(|e| e.to_serde_value().as_ref().and_then(Value::as_str) == Some(item)) {
            return Ok(false);
        }
        array.append(CstInputValue::String(item.to_string()));
        Ok(true)
    }

    /// Removes every `item` from the array at `key`; whether there was one.
    pub fn remove_from_array(&mut self, key: &str, item: &str) -> Result<bool, String> {
        self.check_unique(key, None)?;
        let Some(array) = self.top().get(key).and_then(|p| p.value()).and_then(|v| v.as_array()) else {
            return Ok(false);
        };
        let mut removed = false;
        for e in array.elements() {
            if e.to_serde_value().as_ref().and_then(Value::as_str) == Some(item) {
                e.remove();
                removed = true;
            }
        }
        Ok(removed)
    }

    pub fn text(&self) -> String {
        let text = self.root.to_string();
        if self.bom {
            format!("\u{feff}{text}")
        } else {
            text
        }
    }
}

fn input(v: &Value) -> CstInputValue {
    match v {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(a) => CstInputValue::Array(a.iter().map(input).collect()),
        Value::Object(m) => CstInputValue::Object(m.iter().map(|(k, v)| (k.clone(), input(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER: &str = "// my OpenCode settings\n{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  /* theme */ \"theme\": \"dark\",\n  \"mcp\": {\n    \"mine\": { \"type\": \"local\", \"command\": [\"x\"], }, // keep me\n  },\n}\n";

    #[test]
    fn adding_and_removing_keeps_every_other_byte() {
        let mut doc = Doc::parse(USER).unwrap();
        assert!(doc.set_member("mcp", "srv", &json!({"type": "local", "enabled": true})).unwrap());
        assert!(doc.add_to_array("instructions", "/p/SKILL.md").unwrap());
        let text = doc.text();
        assert!(text.starts_with("// my OpenCode settings\n{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  /* theme */ \"theme\": \"dark\",\n  \"mcp\": {\n    \"mine\": { \"type\": \"local\", \"command\": [\"x\"], }, // keep me\n"), "{text}");
        // The same again changes nothing.
        let mut again = Doc::parse(&text).unwrap();
        assert!(!again.set_member("mcp", "srv", &json!({"type": "local", "enabled": true})).unwrap());
        assert!(!again.add_to_array("instructions", "/p/SKILL.md").unwrap());
        assert!(again.remove_member("mcp", "srv").unwrap());
        assert!(again.remove_from_array("instructions", "/p/SKILL.md").unwrap());
        assert!(!again.remove_member("mcp", "srv").unwrap());
        assert!(again.text().starts_with(&USER[..USER.len() - 5]), "{}", again.text());
    }

    #[test]
    fn a_byte_order_mark_is_read_past_and_kept() {
        let mut bom = Doc::parse("\u{feff}{\"a\": 1}").unwrap();
        assert!(bom.set_member("mcp", "x", &json!(1)).unwrap());
        let text = bom.text();
        assert!(text.starts_with("\u{feff}{"), "{text:?}");
        let parsed: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap();
        assert_eq!(parsed, json!({"a": 1, "mcp": {"x": 1}}));
    }

    #[test]
    fn refuses_what_it_cannot_edit_safely() {
        assert!(Doc::parse("[1]").is_err());
        assert!(Doc::parse("{\"a\": 1 \"b\": 2}").is_err());
        assert!(Doc::parse("{\"mcp\": 3}").unwrap().set_member("mcp", "x", &json!(1)).is_err());
        let mut empty = Doc::parse("").unwrap();
        assert!(empty.set_member("servers", "x", &json!({"type": "stdio"})).unwrap());
        let text = empty.text();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json!({"servers": {"x": {"type": "stdio"}}}));
    }

    #[test]
    fn a_key_written_twice_where_atk_looks_is_refused() {
        let two_sections = "{\n  \"mcpServers\": {\"a\": {}},\n  \"mcpServers\": {}\n}\n";
        let mut doc = Doc::parse(two_sections).unwrap();
        let err = doc.set_member("mcpServers", "x", &json!(1)).unwrap_err();
        assert_eq!(err, "\"mcpServers\" is written 2 times (lines 2 and 3) and agents read only the last one: keep one, then run the command again");
        assert!(doc.remove_member("mcpServers", "a").is_err());
        assert!(doc.member("mcpServers", "a").is_err());
        // Two servers of one name (an escape spells the same key), or a key twice inside the
        // member atk reads: refused too.
        let two_servers = "{\"mcp\": {\"s\": {\"a\": 1},\n \"other\": 2,\n\n \"\\u0073\": {\"b\": 2}}}";
        let mut doc = Doc::parse(two_servers).unwrap();
        assert!(doc
            .member("mcp", "other")
            .unwrap_err()
            .starts_with("\"mcp\".\"s\" is written 2 times (lines 1 and 4)"));
        assert!(doc.remove_member("mcp", "s").is_err());
        let inside =
            "{\"mcp\": {\"s\": {\"env\": {\"K\": 1, \"K\": 2}}, \"t\": {\"a\": [{\"b\": 1, \"b\": 1, \"b\": 1}]}}}";
        let mut doc = Doc::parse(inside).unwrap();
        assert!(doc
            .set_member("mcp", "s", &json!(1))
            .unwrap_err()
            .starts_with("\"mcp\".\"s\".\"env\".\"K\" is written 2"));
        assert!(doc.member("mcp", "t").unwrap_err().contains("is written 3 times (lines 1, 1 and 1)"));
        // Two lists of instructions.
        let mut doc = Doc::parse("{\"instructions\": [], \"instructions\": [\"/a\"]}").unwrap();
        assert!(doc.add_to_array("instructions", "/b").unwrap_err().starts_with("\"instructions\" is written 2 times"));
        assert!(doc.remove_from_array("instructions", "/a").is_err());
        // Keys twice where atk never looks are the user's business.
        let mut doc = Doc::parse("{\"theme\": 1, \"theme\": 2, \"mcp\": {\"s\": {}}}").unwrap();
        assert!(doc.set_member("mcp", "t", &json!(1)).unwrap());
    }
}
