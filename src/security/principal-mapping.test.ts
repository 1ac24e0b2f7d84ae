import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { PrincipalMapper, PrincipalMappingError } from './principal-mapping.ts';

describe('ssl.principal.mapping.rules', () => {
  const DUKE = 'CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Cupertino,ST=CA,C=US';

  it('DEFAULT (and an empty value) keeps the whole name', () => {
    assert.equal(PrincipalMapper.parse('DEFAULT').userOf(DUKE), DUKE);
    assert.equal(PrincipalMapper.parse('').userOf(DUKE), DUKE);
  });

  it('a rule replaces the whole name with its groups, lower or upper cased on request', () => {
    const rules = [
      'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/',
      'RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L',
      'RULE:^cn=(.*?),ou=(.*?)$/$1/U',
      'DEFAULT',
    ].join(',');
    const m = PrincipalMapper.parse(rules);
    assert.equal(m.userOf('CN=kafka-server,OU=ServiceUsers,O=Org,C=US'), 'kafka-server');
    assert.equal(m.userOf(DUKE), 'duke@javasoft');
    assert.equal(m.userOf('cn=duke,ou=javasoft'), 'DUKE');
    assert.equal(m.userOf('O=Nobody'), 'O=Nobody', 'DEFAULT catches the rest');
  });

  it('the first rule that matches the whole name wins; a partial match does not count', () => {
    const m = PrincipalMapper.parse('RULE:CN=(.*?),O=x/first-$1/, RULE:CN=(.*)/second-$1/');
    assert.equal(m.userOf('CN=a,O=x'), 'first-a');
    assert.equal(m.userOf('CN=a,O=y'), 'second-a,O=y');
  });

  it('an escaped slash stands for itself in the pattern and the replacement', () => {
    const m = PrincipalMapper.parse('RULE:^CN=(.*?)\\/(.*?)$/$1\\/$2/');
    assert.equal(m.userOf('CN=team/alice'), 'team/alice');
  });

  it('spaces around the commas are allowed', () => {
    const m = PrincipalMapper.parse('  RULE:^CN=(.*?),.*$/$1/L ,  DEFAULT  ');
    assert.equal(m.userOf('CN=Bob,O=x'), 'bob');
  });

  it('no rule applying is a refusal, naming the name and the rules', () => {
    const m = PrincipalMapper.parse('RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/');
    assert.throws(() => m.userOf(DUKE), /No rules apply to CN=Duke,OU=JavaSoft/);
  });

  it('refuses malformed rules', () => {
    for (const bad of [
      'RULE:^CN=(.*?)$/$1',
      'RULE:',
      'DEFAULT RULE',
      'SOMETHING',
      'RULE:^CN=(.*?)$/$1/X',
      'RULE:^CN=((.*?)$/$1/',
    ]) {
      assert.throws(() => PrincipalMapper.parse(bad), PrincipalMappingError, bad);
    }
  });
});
