// kafka-node loads snappy through `optional`, which treats a failing require as "not installed".
throw new Error('native snappy is deliberately not installed (see package.json)');
