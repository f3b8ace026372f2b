// `banger completion bash`: the bash completion script, generated from the
// command table and the global options, so a command or option exists in
// completion exactly when the parser accepts it. VM and image names and
// cluster host ids come from the daemon at completion time (`vm ls -o json`,
// `image ls -o json`, `cluster status -o json`) and are simply absent when it
// cannot be reached.
#include "tools/cli/completion.hpp"
#include "tools/cli/commands.hpp"

#include "messages/vm_limits.hpp"

#include <algorithm>
#include <iostream>
#include <set>
#include <sstream>

namespace banger::cli {

namespace {

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words)
    out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string group_of(const CommandSpec& spec) {
  auto space = spec.name.find(' ');
  return space == std::string::npos ? std::string{} : spec.name.substr(0, space);
}

// The words that may follow `prefix` ("" for the first word) on the way to a
// command: "vm" -> create, ls, show...
std::vector<std::string> next_words(const std::string& prefix) {
  std::vector<std::string> out;
  auto with_space = prefix.empty() ? prefix : prefix + " ";
  for (const auto& c : command_table()) {
    if (!c.name.starts_with(with_space) || c.name == prefix)
      continue;
    auto rest = c.name.substr(with_space.size());
    auto word = rest.substr(0, rest.find(' '));
    if (std::find(out.begin(), out.end(), word) == out.end())
      out.push_back(word);
  }
  return out;
}

std::string bash_words(const Completion& c) {
  switch (c.kind) {
    case Completion::Kind::files:
      return "COMPREPLY=($(compgen -f -- \"$cur\"))";
    case Completion::Kind::dirs:
      return "COMPREPLY=($(compgen -d -- \"$cur\"))";
    case Completion::Kind::vms:
      return "COMPREPLY=($(compgen -W \"$(_banger_names vm)\" -- \"$cur\"))";
    case Completion::Kind::images:
      return "COMPREPLY=($(compgen -W \"$(_banger_names image)\" -- \"$cur\"))";
    case Completion::Kind::hosts:
      return "COMPREPLY=($(compgen -W \"$(_banger_hosts)\" -- \"$cur\"))";
    case Completion::Kind::words:
      return "COMPREPLY=($(compgen -W \"" + join(c.words) + "\" -- \"$cur\"))";
    case Completion::Kind::nothing:
      break;
  }
  return "COMPREPLY=()";
}

Completion by_metavar(const std::string& metavar) {
  if (metavar == "PATH" || metavar == "FILE")
    return {Completion::Kind::files, {}};
  if (metavar == "DIR")
    return {Completion::Kind::dirs, {}};
  if (metavar == "IMAGE")
    return {Completion::Kind::images, {}};
  return {};
}

} // namespace

Completion completion_of(const OptionSpec& option) {
  if (option.kind == ValueKind::choice)
    return {Completion::Kind::words, option.choices};
  if (option.name == "--host")
    return {Completion::Kind::hosts, {}};
  if (option.name == "--signal") {
    Completion c{Completion::Kind::words, {}};
    for (const auto& s : allowed_signals)
      c.words.emplace_back(s.name);
    return c;
  }
  return by_metavar(option.metavar);
}

Completion completion_of(const GlobalSpec& option) {
  if (option.name == "--output")
    return {Completion::Kind::words, {"text", "json"}};
  return by_metavar(option.metavar);
}

Completion argument_completion(const CommandSpec& spec) {
  if (spec.args == "DIR")
    return {Completion::Kind::dirs, {}};
  if (!spec.args.starts_with("REF"))
    return {};
  auto group = group_of(spec);
  if (group == "vm")
    return {Completion::Kind::vms, {}};
  if (group == "image")
    return {Completion::Kind::images, {}};
  return {};
}

std::string bash_completion() {
  std::ostringstream out;
  std::vector<std::string> globals, valued_globals;
  for (const auto& g : global_options()) {
    globals.push_back(g.name);
    valued_globals.push_back(g.name);
    if (!g.short_name.empty()) {
      globals.push_back(g.short_name);
      valued_globals.push_back(g.short_name);
    }
  }
  globals.insert(globals.end(), {"--help", "-h"});

  out << "# bash completion for banger, generated from its command table by\n"
         "# `banger completion bash`. Source it, or install it as\n"
         "# /usr/share/bash-completion/completions/banger.\n\n";

  // Names from the daemon this command line points at (its global options);
  // nothing, and no message, when the daemon cannot be reached.
  out << "_banger_names() {\n"
         "  \"$_banger_self\" \"${_banger_globals[@]}\" --timeout 2s \"$1\" ls -o json "
         "2>/dev/null </dev/null |\n"
         "    grep -o '\"name\": *\"[^\"]*\"' | sed 's/.*\"\\([^\"]*\\)\"$/\\1/'\n"
         "}\n\n";
  out << "_banger_hosts() {\n"
         "  \"$_banger_self\" \"${_banger_globals[@]}\" --timeout 2s cluster status -o json "
         "2>/dev/null </dev/null |\n"
         "    grep -o '\"id\": *\"[^\"]*\"' | sed 's/.*\"\\([^\"]*\\)\"$/\\1/'\n"
         "}\n\n";

  std::set<std::string> prefixes{""};
  for (const auto& c : command_table()) {
    for (std::size_t pos = c.name.find(' '); pos != std::string::npos;
         pos = c.name.find(' ', pos + 1))
      prefixes.insert(c.name.substr(0, pos));
  }
  out << "_banger_subcommands() {\n  case \"$1\" in\n";
  for (const auto& p : prefixes)
    out << "    \"" << p << "\") echo \"" << join(next_words(p)) << "\" ;;\n";
  out << "  esac\n}\n\n";

  out << "_banger_is_command() {\n  case \"$1\" in\n";
  for (const auto& c : command_table())
    out << "    \"" << c.name << "\") return 0 ;;\n";
  out << "  esac\n  return 1\n}\n\n";

  out << "_banger_options() {\n  case \"$1\" in\n";
  for (const auto& c : command_table()) {
    std::vector<std::string> names;
    for (const auto& o : c.options) {
      names.push_back(o.name);
      if (!o.short_name.empty())
        names.push_back(o.short_name);
    }
    if (!names.empty())
      out << "    \"" << c.name << "\") echo \"" << join(names) << "\" ;;\n";
  }
  out << "  esac\n}\n\n";

  // An option that takes a value, and what its value completes to.
  out << "_banger_value() {\n  case \"$2\" in\n";
  for (const auto& g : global_options()) {
    auto names = "\"" + g.name + "\"" + (g.short_name.empty() ? "" : "|\"" + g.short_name + "\"");
    out << "    " << names << ") " << bash_words(completion_of(g)) << "; return 0 ;;\n";
  }
  out << "  esac\n  case \"$1 $2\" in\n";
  for (const auto& c : command_table())
    for (const auto& o : c.options) {
      if (o.kind == ValueKind::none)
        continue;
      out << "    \"" << c.name << " " << o.name << "\") " << bash_words(completion_of(o))
          << "; return 0 ;;\n";
    }
  out << "  esac\n  return 1\n}\n\n";

  out << "_banger_takes_value() {\n  case \"$1 $2\" in\n";
  for (const auto& c : command_table())
    for (const auto& o : c.options)
      if (o.kind != ValueKind::none)
        out << "    \"" << c.name << " " << o.name << "\") return 0 ;;\n";
  out << "  esac\n  return 1\n}\n\n";

  // Positional arguments: $2 is how many are already there.
  out << "_banger_args() {\n  case \"$1\" in\n";
  for (const auto& c : command_table()) {
    auto a = argument_completion(c);
    if (a.kind == Completion::Kind::nothing)
      continue;
    out << "    \"" << c.name << "\") ";
    if (c.max_args >= 0)
      out << "(($2 < " << c.max_args << ")) && ";
    out << bash_words(a) << " ;;\n";
  }
  out << "  esac\n}\n\n";

  out << "_banger() {\n"
         "  local cur prev words cword\n"
         "  if declare -F _get_comp_words_by_ref >/dev/null; then\n"
         "    _get_comp_words_by_ref -n =: cur prev words cword\n"
         "  else\n"
         "    words=(\"${COMP_WORDS[@]}\") cword=$COMP_CWORD\n"
         "    cur=${words[cword]} prev=${words[cword-1]}\n"
         "  fi\n"
         "  COMPREPLY=()\n"
         "  local _banger_self=${words[0]} _banger_globals=() cmd=\"\" nargs=0 i w\n"
         "  for ((i = 1; i < cword; i++)); do\n"
         "    w=${words[i]}\n"
         "    [[ $w == -- ]] && return 0 # the rest is a command for the guest\n"
         "    case \"$w\" in\n"
         "      ";
  {
    std::string alts;
    for (const auto& g : valued_globals)
      alts += (alts.empty() ? "" : "|") + g;
    out << alts << ") _banger_globals+=(\"$w\" \"${words[i+1]}\"); ((i++)); continue ;;\n";
    std::string eq;
    for (const auto& g : global_options())
      eq += (eq.empty() ? "" : "|") + g.name + "=*";
    out << "      " << eq << ") _banger_globals+=(\"$w\"); continue ;;\n";
  }
  out << "      -*=*) continue ;;\n"
         "      -*) _banger_takes_value \"$cmd\" \"$w\" && ((i++)); continue ;;\n"
         "    esac\n"
         "    if _banger_is_command \"$cmd\"; then ((nargs++)); else cmd=${cmd:+$cmd }$w; fi\n"
         "  done\n"
         "  if [[ $prev == -* && $cword -gt 1 ]] && _banger_value \"$cmd\" \"$prev\"; then\n"
         "    return 0\n"
         "  fi\n"
         "  if [[ $cur == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$(_banger_options \"$cmd\") "
      << join(globals)
      << "\" -- \"$cur\"))\n"
         "  elif ! _banger_is_command \"$cmd\"; then\n"
         "    COMPREPLY=($(compgen -W \"$(_banger_subcommands \"$cmd\")\" -- \"$cur\"))\n"
         "  else\n"
         "    _banger_args \"$cmd\" \"$nargs\"\n"
         "  fi\n"
         "  return 0\n"
         "}\n"
         "complete -F _banger banger\n";
  return out.str();
}

int cmd_completion(Context&) {
  std::cout << bash_completion();
  return exit_ok;
}

} // namespace banger::cli
