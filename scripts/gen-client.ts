// Writes clients/typescript/openapi.json and src/schema.d.ts from the document this
// source tree serves. Run after changing a route or a schema:
//
//   npx tsx scripts/gen-client.ts
//
// test/unit/api.openapi.test.ts fails while the committed files differ from what this writes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_DIR, clientTypes, committedForm, servedDocument } from '../test/helpers/openapi.js';

const doc = await servedDocument();
writeFileSync(join(CLIENT_DIR, 'openapi.json'), committedForm(doc));
writeFileSync(join(CLIENT_DIR, 'src/schema.d.ts'), await clientTypes(doc));
console.log(`wrote ${CLIENT_DIR}/openapi.json and ${CLIENT_DIR}/src/schema.d.ts`);
