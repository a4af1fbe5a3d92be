// `npm run bench`: the engine suite (bench/engine.ts) until the dispatcher over every suite lands.
import './engine';
